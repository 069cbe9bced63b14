using System.Numerics.Tensors;

namespace Workbench.Engine;

/// <summary>Sums and means over one axis or over all elements. A full reduction returns a rank-0 tensor.</summary>
public static partial class Ops
{
    public static Tensor Sum(this Tensor x, int axis, bool keepDim = false)
    {
        int ax = Engine.Shape.Axis(axis, x.Rank, "Sum");
        var y = SumAxis(ValuesOf(x), ax, keepDim);
        var shape = x.Shape;
        // dx[o, j, i] = g[o, i]
        return Autograd.Record(y, "Sum", [x], g => [ExpandAxis(g, shape, ax, 1f)]);
    }

    public static Tensor Mean(this Tensor x, int axis, bool keepDim = false)
    {
        int ax = Engine.Shape.Axis(axis, x.Rank, "Mean");
        var y = SumAxis(ValuesOf(x), ax, keepDim);
        float inv = 1f / x.Shape[ax];
        TensorPrimitives.Multiply(y.Span, inv, y.Span);
        var shape = x.Shape;
        // dx[o, j, i] = g[o, i] / n
        return Autograd.Record(y, "Mean", [x], g => [ExpandAxis(g, shape, ax, inv)]);
    }

    public static Tensor SumAll(this Tensor x)
    {
        var y = Tensor.FromArray([ReduceKernel.SumAll(ValuesOf(x).Span)]);
        var shape = x.Shape;
        // dx = g (every element)
        return Autograd.Record(y, "SumAll", [x], g => [Tensor.Full(g.Item(), shape)]);
    }

    public static Tensor MeanAll(this Tensor x)
    {
        float inv = 1f / x.Numel;
        var y = Tensor.FromArray([ReduceKernel.SumAll(ValuesOf(x).Span) * inv]);
        var shape = x.Shape;
        // dx = g / numel
        return Autograd.Record(y, "MeanAll", [x], g => [Tensor.Full(g.Item() * inv, shape)]);
    }

    /// <summary>Σ over axis <paramref name="ax"/> of a contiguous fp32 tensor (no graph).</summary>
    private static Tensor SumAxis(Tensor xv, int ax, bool keepDim)
    {
        var (outer, n, inner) = AxisSplit(xv.Shape, ax);
        var shape = keepDim
            ? xv.Shape.Select((d, i) => i == ax ? 1 : d).ToArray()
            : xv.Shape.Where((_, i) => i != ax).ToArray();
        var y = Tensor.Zeros(shape);
        ReduceKernel.Fast(Memory(xv), outer, n, inner, Memory(y));
        return y;
    }

    /// <summary>dx (shape) = s·g repeated along axis <paramref name="ax"/>, where g lacks (or has size 1 at) that axis.</summary>
    private static Tensor ExpandAxis(Tensor g, int[] shape, int ax, float s)
    {
        var gv = ValuesOf(g);
        var kept = shape.Select((d, i) => i == ax ? 1 : d).ToArray();
        var dx = Tensor.Zeros(shape);
        BroadcastKernel.Fast(BinaryOp.Mul, Memory(gv), kept, new[] { s }, [], Memory(dx), shape);
        return dx;
    }

    /// <summary>
    /// The gradient of a broadcast: sums <paramref name="g"/> over its extra leading dimensions and over every
    /// dimension where <paramref name="shape"/> has size 1, giving a tensor of <paramref name="shape"/>.
    /// </summary>
    internal static Tensor SumToShape(Tensor g, int[] shape)
    {
        if (Engine.Shape.SameShape(g.Shape, shape)) return g;
        var t = ValuesOf(g);
        int lead = t.Rank - shape.Length;
        if (lead > 0)
        {
            var merged = new[] { (int)Engine.Shape.Numel(t.Shape.AsSpan(0, lead)) }.Concat(t.Shape.Skip(lead)).ToArray();
            t = SumAxis(new Tensor(t.Storage, merged, null, t.Offset), 0, keepDim: false);
        }
        for (int d = 0; d < shape.Length; d++)
            if (shape[d] == 1 && t.Shape[d] != 1) t = SumAxis(t, d, keepDim: true);
        return t;
    }

    /// <summary>A row-major shape seen as [outer, n, inner] around axis <paramref name="ax"/>.</summary>
    internal static (int Outer, int N, int Inner) AxisSplit(int[] shape, int ax) =>
        ((int)Engine.Shape.Numel(shape.AsSpan(0, ax)), shape[ax], (int)Engine.Shape.Numel(shape.AsSpan(ax + 1)));
}

/// <summary>y[o, i] = Σ_j x[o, j, i] over a row-major [outer, n, inner] buffer, and the sum of a whole buffer.</summary>
public static class ReduceKernel
{
    private const int Block = 4096;

    public static void Reference(ReadOnlySpan<float> x, int outer, int n, int inner, Span<float> y)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                // y[o, i] = Σ_j x[o, j, i]
                double sum = 0;
                for (int j = 0; j < n; j++) sum += x[(o * n + j) * inner + i];
                y[o * inner + i] = (float)sum;
            }
    }

    public static void Fast(ReadOnlyMemory<float> x, int outer, int n, int inner, Memory<float> y)
    {
        if (inner == 1)
        {
            // Contiguous rows: one vectorised sum per row.
            Par.For(outer, Math.Max(1, (1 << 15) / Math.Max(1, n)), (o0, o1) =>
            {
                for (int o = o0; o < o1; o++) y.Span[o] = SumAll(x.Span.Slice(o * n, n));
            });
            return;
        }
        // Strided: accumulate whole rows of length inner, in column blocks so small outer still splits.
        int blocks = (inner + 255) / 256;
        Par.For(outer * blocks, Math.Max(1, (1 << 15) / Math.Max(1, n * 256)), (w0, w1) =>
        {
            for (int w = w0; w < w1; w++)
            {
                int o = w / blocks, c0 = w % blocks * 256, len = Math.Min(256, inner - c0);
                var acc = y.Span.Slice(o * inner + c0, len);
                acc.Clear();
                for (int j = 0; j < n; j++) TensorPrimitives.Add(acc, x.Span.Slice((o * n + j) * inner + c0, len), acc);
            }
        });
    }

    /// <summary>Σ x: vectorised fp32 sums of 4096-element blocks, added up in double.</summary>
    public static float SumAll(ReadOnlySpan<float> x)
    {
        double sum = 0;
        for (int s = 0; s < x.Length; s += Block) sum += TensorPrimitives.Sum(x.Slice(s, Math.Min(Block, x.Length - s)));
        return (float)sum;
    }
}
