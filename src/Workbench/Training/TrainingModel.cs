using Workbench.Adapters.Lora;
using Workbench.Engine.Nn;
using Workbench.Formats;
using Workbench.Models;
using Workbench.Models.Llama;

namespace Workbench.Training;

/// <summary>
/// The model a run trains: the base model loaded from its directory, then made trainable by the configured
/// method. The trainer itself is adapter-agnostic: it trains whatever <see cref="Module.TrainableParameters"/>
/// returns after this.
/// </summary>
public static class TrainingModel
{
    /// <summary>
    /// Loads a Llama-family model from <c>dir/config.json</c> and <c>dir/model.safetensors</c> in fp32.
    /// Stand-in for the general <c>CausalLM.Load(dir)</c> (being written on another branch); replace the body when it lands.
    /// </summary>
    public static LlamaForCausalLM LoadBase(string dir)
    {
        if (!Directory.Exists(dir)) throw new TrainingConfigException($"base_model: {dir}: no such directory");
        var config = ModelConfig.Load(dir);
        if (config.ModelType != "llama")
            throw new TrainingConfigException($"base_model: {dir}: model_type '{config.ModelType}' is not supported for training yet (llama only)");
        var weights = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(weights)) throw new TrainingConfigException($"base_model: {weights}: no such file");
        var tensors = SafeTensorsFile.Load(weights);
        foreach (var name in tensors.Keys.ToList())
            if (tensors[name].DType != Engine.DType.F32) tensors[name] = tensors[name].To(Engine.DType.F32);
        return new LlamaForCausalLM(config, WeightSources.FromDictionary(tensors, weights));
    }

    /// <summary>
    /// Freezes the base and adds the adapter (LoRA), or marks every parameter trainable (none). Returns the
    /// adapted module paths (empty for full fine-tuning). LoRA weights are drawn from <c>seed</c>, so a resumed
    /// run rebuilds the same model before loading the checkpoint over it.
    /// </summary>
    public static IReadOnlyList<string> Prepare(Module model, TrainingConfig c)
    {
        switch (c.Adapter)
        {
            case AdapterMethod.None:
                foreach (var (_, t) in model.NamedParameters()) t.RequiresGrad = true;
                return [];
            case AdapterMethod.Lora:
                if (c.LoraDropout > 0)
                    throw new TrainingConfigException("lora_dropout > 0 needs the full LoRA adapter, which is not in this build; set lora_dropout: 0");
                model.Freeze();
                try { return LoraInjector.Inject(model, ResolveTargets(model, c.TargetModules), c.LoraR, c.LoraAlpha, seed: c.Seed); }
                catch (ArgumentException e) { throw new TrainingConfigException($"target_modules: {e.Message}"); }
            case AdapterMethod.Ia3:
                throw new TrainingConfigException("adapter ia3 is not available in this build (LoRA and full fine-tuning are)");
            default:
                throw new ArgumentOutOfRangeException(nameof(c), c.Adapter, "unknown adapter method");
        }
    }

    /// <summary>Target names as given, or with <c>all-linear</c> every linear layer's name except the output head (as PEFT).</summary>
    public static string[] ResolveTargets(Module model, string[] targets)
    {
        if (!(targets.Length == 1 && targets[0] == "all-linear")) return targets;
        return model.NamedModules()
            .Where(m => m.Module is LinearLayer && m.Path != "lm_head")
            .Select(m => m.Path[(m.Path.LastIndexOf('.') + 1)..])
            .Distinct()
            .ToArray();
    }
}
