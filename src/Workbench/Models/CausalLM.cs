using Workbench.Engine;
using Workbench.Formats;
using Workbench.Models.Gemma;
using Workbench.Models.GptNeoX;
using Workbench.Models.Llama;

namespace Workbench.Models;

/// <summary>A checkpoint whose tensors do not fit its config; the message names the file and every bad tensor.</summary>
public sealed class ModelLoadException(string file, string problem) : FormatException($"{file}: {problem}")
{
    public string File { get; } = file;
}

/// <summary>Builds the model class a config names, from given weights or from a Hugging Face model directory.</summary>
public static class CausalLM
{
    /// <summary>The *ForCausalLM of <c>config.ModelType</c>, with every parameter taken from <paramref name="weights"/>.</summary>
    public static CausalLMModule Create(ModelConfig config, WeightSource weights) => config.ModelType switch
    {
        "llama" => new LlamaForCausalLM(config, weights),
        "gpt_neox" => new GPTNeoXForCausalLM(config, weights),
        "gemma" => new GemmaForCausalLM(config, weights),
        _ => throw new NotSupportedException($"{config.Source}: model_type '{config.ModelType}' has no model class (llama, gpt_neox, gemma)"),
    };

    /// <summary>
    /// Reads <c>config.json</c> and the safetensors weights (single file or sharded) of a model directory. Weights
    /// stay in their file dtype (F32, BF16 or F16: linear layers widen them block by block) unless
    /// <paramref name="computeStorage"/> asks for another. Every tensor the config implies is checked first:
    /// missing or wrongly shaped tensors are reported together, with the file; extra tensors are ignored (as
    /// transformers does, with a warning). All parameters are frozen; adapters unfreeze what they train.
    /// </summary>
    public static CausalLMModule Load(string directory, DType? computeStorage = null)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"{directory}: no such model directory");
        var config = ModelConfig.Load(directory);
        using var checkpoint = SafeTensorsCheckpoint.Open(directory);
        var comparison = LayoutCheck.Compare(ParameterLayout.For(config), checkpoint.Entries);
        var problems = comparison.Problems().Where(p => !p.StartsWith("unexpected")).ToList();
        if (problems.Count > 0)
            throw new ModelLoadException(checkpoint.Path, $"does not fit {config.Source} ({config.Architecture}):\n  " + string.Join("\n  ", problems));
        var model = Create(config, WeightSources.FromCheckpoint(checkpoint, computeStorage));
        model.Freeze();
        return model;
    }
}
