using System.Text.RegularExpressions;
using Workbench.Formats.Gguf;
using Workbench.Models;

namespace Workbench.Export.Gguf;

/// <summary>
/// How one Hugging Face architecture becomes a llama.cpp one, as convert_hf_to_gguf.py does it (the rules of the
/// llama.cpp commit LLamaSharp 0.30.0 is built from, c0c7e147, as read in a later copy of conversion/*.py whose rules
/// for these three architectures are the same, and checked against that commit's runtime by the tests): the
/// <c>general.architecture</c> name, the hyperparameter keys, each tensor's GGUF name, the changes made to its
/// values on the way, and any tensor the converter adds.
/// </summary>
public abstract class LlamaCppArchitecture
{
    /// <summary>general.architecture, and the prefix of the hyperparameter keys.</summary>
    public abstract string Name { get; }

    public static LlamaCppArchitecture For(ModelConfig config) => config.ModelType switch
    {
        "llama" => new LlamaCppLlama(),
        "gemma" => new LlamaCppGemma(),
        "gpt_neox" => new LlamaCppGptNeoX(),
        _ => throw new NotSupportedException($"{config.Source}: model_type '{config.ModelType}' has no GGUF export (llama, gemma, gpt_neox)"),
    };

    /// <summary>The <c>{arch}.*</c> hyperparameters.</summary>
    public abstract void AddHyperparameters(GgufMetadata metadata, ModelConfig config);

    /// <summary>The GGUF name of a Hugging Face tensor, or null when the converter drops it.</summary>
    public string? TensorName(string hfName)
    {
        foreach (var (pattern, replacement) in NameMap)
        {
            var m = Regex.Match(hfName, pattern);
            if (m.Success) return replacement is null ? null : m.Result(replacement);
        }
        throw new NotSupportedException($"{hfName}: no llama.cpp {Name} tensor name for this tensor");
    }

    /// <summary>Regex → replacement pairs, tried in order; a null replacement drops the tensor.</summary>
    protected abstract IReadOnlyList<(string Pattern, string? Replacement)> NameMap { get; }

    /// <summary>
    /// Rewrites a tensor's values in place (row-major, PyTorch shape <paramref name="shape"/>) where llama.cpp
    /// expects another layout or parametrisation. Default: unchanged.
    /// </summary>
    public virtual float[] Transform(string hfName, float[] values, int[] shape, ModelConfig config) => values;

    /// <summary>Tensors the converter adds that the checkpoint does not hold (e.g. Llama 3's rope_freqs).</summary>
    public virtual IEnumerable<(string Name, float[] Values)> ExtraTensors(ModelConfig config) => [];

    /// <summary>
    /// Reorders the rows of a [rows, columns] matrix: output row r is input row <paramref name="source"/>(r).
    /// </summary>
    protected static float[] GatherRows(float[] values, int rows, Func<int, int> source)
    {
        int columns = values.Length / rows;
        var result = new float[values.Length];
        for (int r = 0; r < rows; r++) Array.Copy(values, (long)source(r) * columns, result, (long)r * columns, columns);
        return result;
    }
}
