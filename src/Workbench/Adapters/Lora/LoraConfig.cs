using System.Text.RegularExpressions;

namespace Workbench.Adapters.Lora;

/// <summary>How lora_A and lora_B start (PEFT's init_lora_weights).</summary>
public enum LoraInit
{
    /// <summary>true: A ~ kaiming_uniform(a=√5) = U(−1/√in, 1/√in), B = 0 (the layer starts as the base).</summary>
    Default,
    /// <summary>"gaussian": A ~ N(0, 1/r), B = 0.</summary>
    Gaussian,
    /// <summary>false: A and B both kaiming-uniform, so the adapter changes the output from the start (for tests).</summary>
    Random,
}

/// <summary>PEFT's LoraConfig: one flat record, PEFT's defaults.</summary>
public sealed record LoraConfig : AdapterConfig
{
    public int R { get; init; } = 8;
    public float LoraAlpha { get; init; } = 8;
    public float LoraDropout { get; init; }
    /// <summary>"none", "all" (every bias in the model trains) or "lora_only" (biases of the wrapped layers).</summary>
    public string Bias { get; init; } = "none";
    public LoraInit InitLoraWeights { get; init; } = LoraInit.Default;
    /// <summary>Scale by α/√r instead of α/r (rank-stabilised LoRA).</summary>
    public bool UseRsLora { get; init; }
    /// <summary>Per-module rank: pattern → r, the pattern matching a whole name or a dotted suffix of it.</summary>
    public IReadOnlyDictionary<string, int> RankPattern { get; init; } = new Dictionary<string, int>();
    public IReadOnlyDictionary<string, float> AlphaPattern { get; init; } = new Dictionary<string, float>();

    public static readonly IReadOnlyDictionary<string, string[]> Defaults = new Dictionary<string, string[]>
    {
        ["gpt_neox"] = ["query_key_value"],
        ["llama"] = ["q_proj", "v_proj"],
        ["gemma"] = ["q_proj", "v_proj"],
    };

    public static readonly string[] BiasModes = ["none", "all", "lora_only"];

    /// <summary>The rank of the layer at <paramref name="path"/> (rank_pattern, else r).</summary>
    public int RankFor(string path) => PatternValue(RankPattern, path, R);

    public float AlphaFor(string path) => PatternValue(AlphaPattern, path, LoraAlpha);

    /// <summary>s = α/r, or α/√r with rsLoRA.</summary>
    public float ScalingFor(string path)
    {
        int r = RankFor(path);
        float alpha = AlphaFor(path);
        return UseRsLora ? alpha / MathF.Sqrt(r) : alpha / r;
    }

    public void Validate()
    {
        if (R <= 0) throw new ArgumentException($"LoraConfig: r must be positive, got {R}");
        if (!(LoraDropout >= 0 && LoraDropout < 1)) throw new ArgumentException($"LoraConfig: lora_dropout must be in [0, 1), got {LoraDropout}");
        if (!BiasModes.Contains(Bias)) throw new ArgumentException($"LoraConfig: bias must be one of {string.Join(", ", BiasModes)}, got '{Bias}'");
        foreach (var (k, v) in RankPattern) if (v <= 0) throw new ArgumentException($"LoraConfig: rank_pattern '{k}' must be positive, got {v}");
    }

    // PEFT's get_pattern_key: the first key with re.match(rf"(.*\.)?({key})$", name).
    private static T PatternValue<T>(IReadOnlyDictionary<string, T> patterns, string path, T fallback)
    {
        foreach (var (pattern, value) in patterns)
            if (Regex.IsMatch(path, $"^(?:.*\\.)?(?:{pattern})$")) return value;
        return fallback;
    }
}
