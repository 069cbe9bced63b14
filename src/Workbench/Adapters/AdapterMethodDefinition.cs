using System.Text.Json.Nodes;
using Workbench.Formats;
using Workbench.Models;

namespace Workbench.Adapters;

/// <summary>
/// Everything the library knows of one adapter method, in one object (PEFT's register_peft_method): its config type,
/// how a config is made from run options, its fields in adapter_config.json, how it is injected into a model, and how
/// many parameters it adds. Its folder holds the rest (config record, layer, injector); <see cref="AdapterMethods"/>
/// lists the definitions.
/// </summary>
public abstract class AdapterMethodDefinition
{
    public abstract AdapterMethod Method { get; }

    /// <summary>PEFT's peft_type ("LORA").</summary>
    public abstract string PeftType { get; }

    public abstract Type ConfigType { get; }

    /// <summary>Default target modules per model_type (PEFT's TRANSFORMERS_MODELS_TO_*_TARGET_MODULES_MAPPING).</summary>
    public abstract IReadOnlyDictionary<string, string[]> DefaultTargets { get; }

    /// <summary>A config from the options every run has.</summary>
    public abstract AdapterConfig Create(AdapterOptions options);

    /// <summary>This method's own fields of adapter_config.json (the shared ones are read by <see cref="PeftFormat"/>).</summary>
    internal abstract AdapterConfig ReadFields(JsonFields fields);

    /// <summary>Adds this method's own fields, with PEFT's names and values, to those adapter_config.json will hold.</summary>
    internal abstract void WriteFields(AdapterConfig config, IDictionary<string, JsonNode?> fields);

    /// <summary>Injects <paramref name="config"/> as adapter <paramref name="name"/>; returns the config as stored (targets resolved).</summary>
    internal abstract AdapterConfig Inject(PeftModel peft, string name, AdapterConfig config);

    /// <summary>
    /// Parameters the adapter adds at the <paramref name="chosen"/> layers of a layout, and base parameters it unfreezes
    /// (LoRA's bias modes), counted from shapes alone.
    /// </summary>
    public abstract (long Added, long Unfrozen) CountParameters(AdapterConfig config, ParameterLayout layout, IReadOnlyList<LinearSite> chosen);

    /// <summary>Base parameters (by model key) the adapter trains and saves beside its own tensors.</summary>
    internal virtual IEnumerable<string> TrainedBaseParameters(PeftModel peft, AdapterConfig config) => [];
}
