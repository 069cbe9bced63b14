namespace Workbench.Adapters.Ia3;

/// <summary>PEFT's IA3Config: target modules and which of them are feed-forward (scaled on the input side).</summary>
public sealed record Ia3Config : AdapterConfig
{
    /// <summary>Null: the defaults for the model type. Must be a subset of the targets.</summary>
    public TargetModules? FeedforwardModules { get; init; }
    /// <summary>Start every vector at 1 (false leaves them N(0, 1), as PEFT does; discouraged).</summary>
    public bool InitIa3Weights { get; init; } = true;

    public static readonly IReadOnlyDictionary<string, string[]> Defaults = new Dictionary<string, string[]>
    {
        ["gpt_neox"] = ["query_key_value", "dense_4h_to_h"],
        ["llama"] = ["k_proj", "v_proj", "down_proj"],
        ["gemma"] = ["k_proj", "v_proj", "down_proj"],
    };

    public static readonly IReadOnlyDictionary<string, string[]> FeedforwardDefaults = new Dictionary<string, string[]>
    {
        ["gpt_neox"] = ["dense_4h_to_h"],
        ["llama"] = ["down_proj"],
        ["gemma"] = ["down_proj"],
    };
}
