using Workbench.Engine;
using Workbench.Formats;

namespace Workbench.Models;

/// <summary>
/// Supplies a model's parameters by their Hugging Face state-dict name and expected shape while the model
/// is built: from a checkpoint, or synthetic values for tests and benchmarks.
/// </summary>
public delegate Tensor WeightSource(string name, int[] shape);

public static class WeightSources
{
    /// <summary>
    /// Synthetic weights like transformers' init: N(0, std²) for matrices (<see cref="NormalNoise"/>, keyed by the
    /// seed and the name, made on all cores), ones for norm weights, zeros for biases; stored in <paramref name="dtype"/>.
    /// The same in every process for a seed and a parameter name.
    /// </summary>
    public static WeightSource Random(int seed, float std = 0.02f, DType dtype = DType.F32) => (name, shape) =>
    {
        Tensor t;
        if (name.EndsWith(".bias")) t = Tensor.Zeros(shape);
        else if (shape.Length == 1) t = Tensor.Ones(shape);
        else
        {
            t = Tensor.Uninitialized(shape);
            NormalNoise.Fast(StableHash.Combine(seed, StableHash.Of(name), 0), std, t.Span);
        }
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

    /// <summary>
    /// Reads each tensor from a safetensors checkpoint when the model asks for it, checking its shape; kept in the
    /// file's dtype, or converted to <paramref name="storage"/>. Errors name the tensor and the file.
    /// </summary>
    public static WeightSource FromCheckpoint(SafeTensorsCheckpoint checkpoint, DType? storage = null) => (name, shape) =>
    {
        if (!checkpoint.Contains(name))
            throw new ModelLoadException(checkpoint.Path, $"missing tensor '{name}' (expected {Shape.Format(shape)})");
        var t = checkpoint.Load(name);
        if (!t.Shape.SequenceEqual(shape))
            throw new ModelLoadException(checkpoint.Path, $"tensor '{name}' has shape {Shape.Format(t.Shape)}, expected {Shape.Format(shape)}");
        if (t.DType is not (DType.F32 or DType.F16 or DType.BF16) && storage is null)
            throw new ModelLoadException(checkpoint.Path, $"tensor '{name}' is stored as {t.DType}; expected F32, F16 or BF16");
        return storage is { } dtype ? t.To(dtype) : t;
    };
}
