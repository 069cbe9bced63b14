using System.Numerics.Tensors;

namespace Workbench.Engine;

/// <summary>
/// An n-dimensional view over a <see cref="Storage"/>: shape, strides (in elements) and an offset.
/// Compute is fp32; a tensor may be stored as f16/bf16/int8/uint8 and widened by the kernels that read it.
/// Reshape/transpose/narrow make views without copying where the layout allows.
/// </summary>
public sealed partial class Tensor
{
    public Storage Storage { get; }
    public int[] Shape { get; }
    public int[] Strides { get; }
    public long Offset { get; }
    public string? Name { get; set; }

    public DType DType => Storage.DType;
    public int Rank => Shape.Length;
    public long Numel { get; }

    public Tensor(Storage storage, int[] shape, int[]? strides = null, long offset = 0)
    {
        foreach (var d in shape)
            if (d < 0) throw new ShapeException("Tensor", $"negative dimension in shape {Engine.Shape.Format(shape)}");
        Storage = storage;
        Shape = shape;
        Strides = strides ?? Engine.Shape.ContiguousStrides(shape);
        Offset = offset;
        Numel = Engine.Shape.Numel(shape);
        if (strides is null && offset + Numel > storage.Length)
            throw new ShapeException("Tensor", $"shape {Engine.Shape.Format(shape)} needs {Numel} elements but storage has {storage.Length - offset}");
    }

    // ---- factories -------------------------------------------------------------------------------

    public static Tensor Empty(DType dtype, params int[] shape) => new(Storage.Allocate(dtype, Engine.Shape.Numel(shape)), shape);

    /// <summary>fp32 zeros (from <see cref="TensorPool"/> inside a pool scope).</summary>
    public static Tensor Zeros(params int[] shape) => new(new F32Storage(TensorPool.Rent(checked((int)Engine.Shape.Numel(shape)), clear: true)), shape);

    /// <summary>fp32 with unspecified contents, for an op's output that its kernel writes in full (no zeroing pass).</summary>
    internal static Tensor Uninitialized(params int[] shape) => new(new F32Storage(TensorPool.Rent(checked((int)Engine.Shape.Numel(shape)), clear: false)), shape);

    public static Tensor Full(float value, params int[] shape)
    {
        var t = Zeros(shape);
        t.Data.AsSpan().Fill(value);
        return t;
    }

    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    /// <summary>Wraps (does not copy) an fp32 array.</summary>
    public static Tensor FromArray(float[] data, params int[] shape)
    {
        if (Engine.Shape.Numel(shape) != data.LongLength)
            throw new ShapeException("FromArray", $"{data.Length} values do not fill shape {Engine.Shape.Format(shape)}");
        return new Tensor(new F32Storage(data), shape);
    }

    public static Tensor Scalar(float value) => FromArray([value]);

    /// <summary>Standard normal values scaled by <paramref name="std"/> (Box–Muller over a seeded generator).</summary>
    public static Tensor Randn(Random rng, float std, params int[] shape)
    {
        var t = Zeros(shape);
        var d = t.Data;
        for (int i = 0; i < d.Length; i += 2)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            double r = Math.Sqrt(-2.0 * Math.Log(u1));
            d[i] = (float)(r * Math.Cos(2 * Math.PI * u2) * std);
            if (i + 1 < d.Length) d[i + 1] = (float)(r * Math.Sin(2 * Math.PI * u2) * std);
        }
        return t;
    }

    /// <summary>Uniform values in [low, high).</summary>
    public static Tensor Uniform(Random rng, float low, float high, params int[] shape)
    {
        var t = Zeros(shape);
        var d = t.Data;
        for (int i = 0; i < d.Length; i++) d[i] = (float)(low + (high - low) * rng.NextDouble());
        return t;
    }

    // ---- element access --------------------------------------------------------------------------

    public bool IsContiguous
    {
        get
        {
            long expected = 1;
            for (int i = Rank - 1; i >= 0; i--)
            {
                if (Shape[i] != 1 && Strides[i] != expected) return false;
                expected *= Shape[i];
            }
            return true;
        }
    }

    /// <summary>The backing fp32 array (whole storage, ignoring offset). Throws for other dtypes.</summary>
    public float[] Data => Storage is F32Storage f
        ? f.Data
        : throw new InvalidOperationException($"Data: tensor {Name ?? ""}{Engine.Shape.Format(Shape)} is stored as {DType}, not F32; call To(DType.F32)");

    /// <summary>The elements of a contiguous fp32 tensor, in order.</summary>
    public Span<float> Span
    {
        get
        {
            if (!IsContiguous) throw new InvalidOperationException($"Span: tensor {Engine.Shape.Format(Shape)} is not contiguous; call Contiguous()");
            return Data.AsSpan((int)Offset, (int)Numel);
        }
    }

    /// <summary>All elements in logical order, widened to fp32 (a copy).</summary>
    public float[] ToArray()
    {
        var result = GC.AllocateUninitializedArray<float>(checked((int)Numel));   // every element is written below
        CopyTo(result);
        return result;
    }

    /// <summary>All elements in logical order, widened to fp32, into <paramref name="result"/> (Numel floats).</summary>
    internal void CopyTo(float[] result)
    {
        if (IsContiguous) { Storage.ReadFloat(Offset, result.AsSpan(0, checked((int)Numel))); return; }
        GatherStrided(result);
    }

    /// <summary>Copies a strided view into row-major order, one innermost run at a time.</summary>
    private void GatherStrided(float[] result)
    {
        int step = Strides[Rank - 1];
        ForEachRun((o, written, run) =>
        {
            var dst = result.AsSpan((int)written, run);
            if (step == 1) Storage.ReadFloat(o, dst);
            else if (Storage is F32Storage f) for (int j = 0; j < run; j++) dst[j] = f.Data[o + (long)j * step];
            else
            {
                Span<float> one = stackalloc float[1];
                for (int j = 0; j < run; j++) { Storage.ReadFloat(o + (long)j * step, one); dst[j] = one[0]; }
            }
        });
    }

    /// <summary>Writes row-major <paramref name="values"/> into this (fp32, possibly strided) view, one innermost run at a time.</summary>
    internal void ScatterStrided(float[] values)
    {
        var data = Data;
        int step = Strides[Rank - 1];
        ForEachRun((o, written, run) =>
        {
            if (step == 1) values.AsSpan((int)written, run).CopyTo(data.AsSpan((int)o, run));
            else for (int j = 0; j < run; j++) data[o + (long)j * step] = values[written + j];
        });
    }

    /// <summary>
    /// Calls visit(storage offset, elements before it in row-major order, run length) for each innermost run. The
    /// runs are split across cores: a view's copy (Contiguous of a transposed [B, T, H, D]) is a memory-bound pass the
    /// step would otherwise wait for on one core.
    /// </summary>
    private void ForEachRun(Action<long, long, int> visit)
    {
        int last = Rank - 1, run = Shape[last];
        int runs = run == 0 ? 0 : checked((int)(Numel / run));
        Par.For(runs, Math.Max(1, (1 << 15) / Math.Max(1, run)), (first, end) =>
        {
            // The odometer of the outer indices, started at run `first`.
            var outer = new int[Math.Max(last, 0)];
            long rest = first;
            for (int d = last - 1; d >= 0; d--) { outer[d] = (int)(rest % Shape[d]); rest /= Shape[d]; }
            for (long r = first; r < end; r++)
            {
                long o = Offset;
                for (int d = 0; d < last; d++) o += (long)outer[d] * Strides[d];
                visit(o, r * run, run);
                for (int d = last - 1; d >= 0 && ++outer[d] == Shape[d]; d--) outer[d] = 0;
            }
        });
    }

    public float Item()
    {
        if (Numel != 1) throw new ShapeException("Item", $"tensor of shape {Engine.Shape.Format(Shape)} has {Numel} elements, not 1");
        return ToArray()[0];
    }

    [System.Runtime.CompilerServices.IndexerName("At")]
    public float this[params int[] index]
    {
        get
        {
            if (index.Length != Rank) throw new ShapeException("indexer", $"{index.Length} indices for a tensor of rank {Rank}");
            long o = Offset;
            for (int i = 0; i < Rank; i++)
            {
                if ((uint)index[i] >= (uint)Shape[i]) throw new IndexOutOfRangeException($"index {index[i]} out of range for dimension {i} of size {Shape[i]}");
                o += (long)index[i] * Strides[i];
            }
            Span<float> one = stackalloc float[1];
            Storage.ReadFloat(o, one);
            return one[0];
        }
    }

    /// <summary>A contiguous copy in the given dtype (fp32 → bf16 rounds to nearest even). No gradient.</summary>
    public Tensor To(DType dtype)
    {
        if (dtype == DType && IsContiguous) return this;
        ReadOnlySpan<float> values = IsContiguous && Storage is F32Storage own ? own.Data.AsSpan((int)Offset, (int)Numel) : ToArray();
        var result = Empty(dtype, (int[])Shape.Clone());
        switch (result.Storage)
        {
            case F32Storage f: values.CopyTo(f.Data); break;
            case F16Storage h: TensorPrimitives.ConvertToHalf(values, h.Data); break;
            case BF16Storage b: for (int i = 0; i < values.Length; i++) b.Data[i] = DTypeInfo.FloatToBF16(values[i]); break;
            case I8Storage s: for (int i = 0; i < values.Length; i++) s.Data[i] = (sbyte)Math.Clamp(MathF.Round(values[i]), -128, 127); break;
            case U8Storage u: for (int i = 0; i < values.Length; i++) u.Data[i] = (byte)Math.Clamp(MathF.Round(values[i]), 0, 255); break;
            case I32Storage n: for (int i = 0; i < values.Length; i++) n.Data[i] = (int)MathF.Round(values[i]); break;
        }
        return result;
    }

    /// <summary>A contiguous fp32 copy that shares nothing with this tensor and records no gradient.</summary>
    public Tensor Clone() => FromArray(ToArray(), (int[])Shape.Clone());

    /// <summary><see cref="Clone"/> for the engine's own temporaries: from <see cref="TensorPool"/> inside a pool scope.</summary>
    internal Tensor PooledClone()
    {
        var copy = Uninitialized((int[])Shape.Clone());
        CopyTo(copy.Data);
        return copy;
    }

    /// <summary>The same data without gradient history (shares storage).</summary>
    public Tensor Detach() => new(Storage, Shape, Strides, Offset) { Name = Name };

    public override string ToString() => $"Tensor{(Name is null ? "" : " " + Name)}{Engine.Shape.Format(Shape)} {DType}";

    internal void RequireF32(string op)
    {
        if (DType != DType.F32)
            throw new ShapeException(op, $"expects an F32 tensor, got {DType} {Engine.Shape.Format(Shape)}");
    }
}
