using Workbench.Engine;
using Workbench.Engine.Nn;
using Workbench.Models;

namespace Workbench.Quantization;

/// <summary>
/// Puts a model's linear layers into 4 or 8 bits, as transformers does with <c>load_in_4bit</c>: every frozen
/// <see cref="Linear"/> except the output head becomes a <see cref="Linear4bit"/> (or <see cref="Linear8bit"/>);
/// embeddings and the head are stored in <see cref="QuantOptions.KeptDType"/>; norms stay fp32.
/// <see cref="Build{T}"/> does this while the model is built, so that at most one linear weight is ever held in
/// fp32: the model is first constructed with zero-stride placeholders for its matrices (no memory), then each
/// placeholder is filled from the weight source — a matrix of a linear layer is generated or read, quantised
/// and dropped before the next. A Llama-2-7B shape thus needs ~3.9 GB, never its 27 GB of fp32 weights.
/// A generated matrix (<see cref="WeightSources.Random"/>) is made in a <see cref="TensorPool"/> scope, so the next
/// matrix of its shape reuses its array. Copies read from a checkpoint are garbage the runtime would otherwise let
/// pile up (gigabytes, since the live heap is large): every <see cref="CollectEveryBytes"/> of them the GC is asked
/// to reclaim, and at the end to return all free memory to the system.
/// </summary>
public static class ModelQuantizer
{
    /// <summary>Bytes of dropped fp32 weights after which <see cref="Build{T}"/> runs a garbage collection.</summary>
    public const long CollectEveryBytes = 1L << 30;

    /// <summary>
    /// Quantises the frozen linear layers of an already built model in place, one at a time. Trainable layers
    /// (adapter matrices) and layers named in <see cref="QuantOptions.SkipModules"/> are left alone.
    /// Returns the paths replaced.
    /// </summary>
    public static List<string> Quantize(Module model, QuantOptions options)
    {
        var replaced = new List<string>();
        foreach (var (path, linear) in Linears(model, options))
        {
            model.ReplaceModule(path, QuantizeLayer(linear.Weight, linear.Bias, options));
            replaced.Add(path);
        }
        return replaced;
    }

    /// <summary>
    /// Builds a model whose linear layers are quantised as they are filled (see the class summary). With
    /// <paramref name="options"/> null the matrices are kept as given. <paramref name="stored"/> supplies layers
    /// already quantised in a checkpoint (by path; null when the checkpoint holds a plain weight there).
    /// </summary>
    public static T Build<T>(Func<WeightSource, T> construct, WeightSource weights, QuantOptions? options,
        Func<string, QuantizedLinear?>? stored = null) where T : Module
    {
        var model = Fill(construct, weights, options, stored);
        // Collected here, not inside Fill: its frame may still reference the last dropped copies.
        TensorPool.Clear();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return model;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static T Fill<T>(Func<WeightSource, T> construct, WeightSource weights, QuantOptions? options,
        Func<string, QuantizedLinear?>? stored) where T : Module
    {
        var model = construct((name, shape) => shape.Length == 2 ? Placeholder(shape) : weights(name, shape));
        var keep = options?.KeptDType ?? DType.F32;
        var skip = options?.SkipModules ?? [];
        // Embeddings and kept layers first, while little memory is in use; then the linear layers one by one.
        var modules = model.NamedModules().ToList();
        long dropped = 0;
        void Dropped(Tensor t)
        {
            if (TensorPool.Holds(t)) return;         // reused, not garbage
            dropped += t.Numel * 4;
            if (dropped < CollectEveryBytes) return;
            GC.Collect();
            dropped = 0;
        }
        foreach (var (path, module) in modules.Where(m => m.Module is not Linear || IsSkipped(m.Path, skip)))
            foreach (var (name, tensor) in module.NamedParameters().Where(p => !p.Name.Contains('.') && IsPlaceholder(p.Tensor)).ToList())
            {
                using var scope = TensorPool.Begin();
                var loaded = weights(Join(path, name), tensor.Shape);
                var kept = Stored(loaded, keep);
                TensorPool.Escape(kept);
                module.SetParameter(name, kept);
                if (!ReferenceEquals(kept, loaded)) Dropped(loaded);
            }
        TensorPool.Clear();                          // the embeddings' fp32 arrays are larger than any matrix below
        foreach (var (path, module) in modules)
        {
            if (module is not Linear linear || !IsPlaceholder(linear.Weight)) continue;
            var layer = stored?.Invoke(path);
            if (layer is null)
            {
                // A generated weight's fp32 array is pooled: the next matrix of the same shape reuses it.
                using var scope = TensorPool.Begin();
                var weight = weights(path + ".weight", linear.Weight.Shape);
                layer = options is null ? null : QuantizeLayer(weight, linear.Bias, options);
                if (layer is null) { TensorPool.Escape(weight); linear.SetParameter("weight", weight); continue; }
                Dropped(weight);
            }
            if (layer.InFeatures != linear.InFeatures || layer.OutFeatures != linear.OutFeatures)
                throw new ShapeException("ModelQuantizer.Build", $"stored layer '{path}' is [{layer.OutFeatures}, {layer.InFeatures}], expected {Shape.Format(linear.Weight.Shape)}");
            model.ReplaceModule(path, layer);
        }
        return model;
    }

    /// <summary>One weight [out, in] (any dtype, read as fp32) as a frozen quantised layer.</summary>
    public static QuantizedLinear QuantizeLayer(Tensor weight, Tensor? bias, QuantOptions options) => options.Type == QuantType.Int8
        ? new Linear8bit(QuantizedTensor.Quantize(weight, QuantType.Int8, options.BlockSize), bias)
        : new Linear4bit(QuantizedTensor.Quantize(weight, options.Type, options.BlockSize, options.DoubleQuant), bias);

    /// <summary>
    /// The layer with its weight dequantised into a plain <see cref="Linear"/> stored in <paramref name="dtype"/>
    /// (fp32 to merge adapters into, bf16/fp16 to export), frozen. The bias is copied (fp32).
    /// </summary>
    public static Linear Dequantize(QuantizedLinear layer, DType dtype = DType.F32)
    {
        var weight = layer.Weight.Dequantize();
        return new Linear(dtype == DType.F32 ? weight : weight.To(dtype), layer.Bias?.Clone());
    }

    /// <summary>The frozen Linear modules a quantisation replaces, with their paths.</summary>
    private static List<(string Path, Linear Layer)> Linears(Module model, QuantOptions options) => model.NamedModules()
        .Where(m => m.Module is Linear { Weight.RequiresGrad: false } && !IsSkipped(m.Path, options.SkipModules))
        .Select(m => (m.Path, (Linear)m.Module))
        .ToList();

    private static bool IsSkipped(string path, IReadOnlyCollection<string> skip) => skip.Contains(path[(path.LastIndexOf('.') + 1)..]);

    /// <summary>A tensor of the given shape backed by a single zero (all strides 0): a shape without memory.</summary>
    private static Tensor Placeholder(int[] shape) => new(new F32Storage([0f]), shape, new int[shape.Length]);

    private static bool IsPlaceholder(Tensor t) => t.Numel > 1 && t.Storage.Length == 1;

    private static Tensor Stored(Tensor t, DType dtype) => t.Rank == 2 && t.DType != dtype ? t.To(dtype) : t;

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;
}
