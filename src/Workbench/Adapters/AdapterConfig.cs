namespace Workbench.Adapters;

/// <summary>
/// The fields every PEFT adapter config shares (PeftConfig). Each method's config adds its own; <see cref="PeftFormat"/>
/// reads and writes them with PEFT's field names in adapter_config.json.
/// </summary>
public abstract record AdapterConfig
{
    /// <summary>"LORA" or "IA3": PEFT's peft_type.</summary>
    public abstract string PeftType { get; }
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

    /// <summary>Default target modules per model_type (PEFT's TRANSFORMERS_MODELS_TO_*_TARGET_MODULES_MAPPING).</summary>
    public abstract IReadOnlyDictionary<string, string[]> DefaultTargets { get; }
}
