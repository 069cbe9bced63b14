using Workbench.Formats;
using Workbench.Models;
using Workbench.Models.Llama;

namespace Workbench.Evaluation;

/// <summary>
/// Opens a Hugging Face model folder (config.json + model.safetensors) as an <see cref="ICausalLM"/>.
/// Stands in until a general <c>CausalLM.Load(dir)</c> exists in Workbench.Models: Llama only, single file.
/// </summary>
public static class ModelDirectory
{
    public static ICausalLM Load(string dir)
    {
        var config = ModelConfig.Load(Path.Combine(dir, ModelConfig.FileName));
        if (config.ModelType != "llama")
            throw new NotSupportedException($"{dir}: model_type '{config.ModelType}' cannot be loaded here yet (llama only until CausalLM.Load is available)");
        string weights = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(weights)) throw new FileNotFoundException($"{dir}: no model.safetensors", weights);
        return new LlamaForCausalLM(config, WeightSources.FromDictionary(SafeTensorsFile.Load(weights), weights));
    }
}
