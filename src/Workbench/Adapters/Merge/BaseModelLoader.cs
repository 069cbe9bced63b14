using Workbench.Engine.Nn;
using Workbench.Formats;
using Workbench.Models;
using Workbench.Models.Llama;

namespace Workbench.Adapters.Merge;

/// <summary>
/// Loads a Hugging Face model directory (config.json + safetensors, single or sharded) as a trainable module tree.
/// Interim: builds Llama only, until <c>CausalLM.Load(dir)</c> in Workbench.Models lands; then this one function
/// should call it (and gain GPT-NeoX and Gemma).
/// </summary>
public static class BaseModelLoader
{
    public static Module Load(string directory)
    {
        var config = ModelConfig.Load(directory);
        var weights = SafeTensorsCheckpoint.FindIn(directory)
                      ?? throw new FileNotFoundException($"{directory}: no model.safetensors or model.safetensors.index.json");
        using var checkpoint = SafeTensorsCheckpoint.Open(weights);
        var tensors = checkpoint.LoadAll();
        return config.ModelType switch
        {
            "llama" => new LlamaForCausalLM(config, WeightSources.FromDictionary(tensors, weights)),
            _ => throw new NotSupportedException($"{directory}: loading model_type '{config.ModelType}' is not wired up yet (llama only)"),
        };
    }
}
