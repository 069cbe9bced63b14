using Workbench.Engine;

namespace Workbench.Models;

/// <summary>
/// Supplies a model's parameters by their Hugging Face state-dict name and expected shape while the model
/// is built: from a checkpoint, or synthetic values for tests and benchmarks.
/// </summary>
public delegate Tensor WeightSource(string name, int[] shape);

public static class WeightSources
{
    /// <summary>
    /// Synthetic weights like transformers' init: N(0, std²) for matrices, ones for norm weights, zeros
    /// for biases; stored in <paramref name="dtype"/>. Deterministic in the seed and the parameter name.
    /// </summary>
    public static WeightSource Random(int seed, float std = 0.02f, DType dtype = DType.F32) => (name, shape) =>
    {
        Tensor t;
        if (name.EndsWith(".bias")) t = Tensor.Zeros(shape);
        else if (shape.Length == 1) t = Tensor.Ones(shape);
        else t = Tensor.Randn(new Random(HashCode.Combine(seed, StableHash(name))), std, shape);
        return dtype == DType.F32 ? t : t.To(dtype);
    };

    /// <summary>Looks tensors up in a loaded state dict, checking shapes.</summary>
    public static WeightSource FromDictionary(IReadOnlyDictionary<string, Tensor> tensors, string origin) => (name, shape) =>
    {
        if (!tensors.TryGetValue(name, out var t))
            throw new KeyNotFoundException($"{origin}: missing tensor '{name}' (expected {Shape.Format(shape)})");
        if (!t.Shape.SequenceEqual(shape))
            throw new ShapeException("load", $"{origin}: tensor '{name}' has shape {Shape.Format(t.Shape)}, expected {Shape.Format(shape)}");
        return t;
    };

    private static int StableHash(string s)
    {
        unchecked
        {
            int h = (int)2166136261;
            foreach (char c in s) h = (h ^ c) * 16777619;
            return h;
        }
    }
}
