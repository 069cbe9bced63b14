namespace Workbench.Adapters;

/// <summary>
/// The fields every PEFT adapter config shares (PeftConfig). Each method's config adds its own, and its
/// <see cref="AdapterMethodDefinition"/> reads and writes them with PEFT's field names in adapter_config.json.
/// </summary>
public abstract record AdapterConfig
{
    /// <summary>PEFT's peft_type ("LORA", "IA3"), from the method's definition.</summary>
    public string PeftType => AdapterMethods.Of(this).PeftType;
    public string TaskType { get; init; } = "CAUSAL_LM";
    public string? BaseModelNameOrPath { get; init; }
    public string? Revision { get; init; }
    /// <summary>True when the adapter was loaded for inference only (its parameters stay frozen).</summary>
    public bool InferenceMode { get; init; }
    /// <summary>Null: the defaults for the model type (resolved and stored at injection).</summary>
    public TargetModules? TargetModules { get; init; }
    /// <summary>Modules (names or suffixes) trained in full and saved with the adapter, e.g. "lm_head".</summary>
    public IReadOnlyList<string>? ModulesToSave { get; init; }
    /// <summary>The base layer stores its weight as [in, out] (GPT-2 Conv1D). Always false for our Linear, as PEFT forces it.</summary>
    public bool FanInFanOut { get; init; }
}
