using System.Numerics.Tensors;

namespace Workbench.Engine;

/// <summary>Numerically stable softmax and log-softmax along one axis (max subtracted before exp).</summary>
public static partial class Ops
{
    public static Tensor Softmax(this Tensor x, int axis = -1) => SoftmaxOp(x, axis, log: false);
    public static Tensor LogSoftmax(this Tensor x, int axis = -1) => SoftmaxOp(x, axis, log: true);

    private static Tensor SoftmaxOp(Tensor x, int axis, bool log)
    {
        string name = log ? "LogSoftmax" : "Softmax";
        int ax = Engine.Shape.Axis(axis, x.Rank, name);
        var (outer, n, inner) = AxisSplit(x.Shape, ax);
        var xv = ValuesOf(x);
        var y = Tensor.Zeros((int[])x.Shape.Clone());
        SoftmaxKernel.Forward(Memory(xv), outer, n, inner, log, Memory(y));
        return Autograd.Record(y, name, [x], g =>
        {
            var dx = Tensor.Zeros(y.Shape);
            SoftmaxKernel.Backward(Memory(y), Memory(ValuesOf(g)), outer, n, inner, log, Memory(dx));
            return [dx];
        });
    }
}

/// <summary>
/// Softmax over j of a row-major [outer, n, inner] buffer. Forward: y = exp(x − m) / Σ exp(x − m) with m = max x,
/// or log-softmax y = x − m − log Σ exp(x − m). Backward works from the saved output y.
/// </summary>
public static class SoftmaxKernel
{
    public static void ForwardReference(ReadOnlySpan<float> x, int outer, int n, int inner, bool log, Span<float> y)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int at(int j) => (o * n + j) * inner + i;
                float m = float.NegativeInfinity;
                for (int j = 0; j < n; j++) m = MathF.Max(m, x[at(j)]);
                // s = Σ_j exp(x_j − m)
                double s = 0;
                for (int j = 0; j < n; j++) s += Math.Exp(x[at(j)] - m);
                // y_j = exp(x_j − m) / s   or   x_j − m − log s
                for (int j = 0; j < n; j++)
                    y[at(j)] = log ? (float)((x[at(j)] - m) - Math.Log(s)) : (float)(Math.Exp(x[at(j)] - m) / s);
            }
    }

    public static void BackwardReference(ReadOnlySpan<float> y, ReadOnlySpan<float> g, int outer, int n, int inner, bool log, Span<float> dx)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int at(int j) => (o * n + j) * inner + i;
                // softmax: dot = Σ_j g_j y_j;   log-softmax: dot = Σ_j g_j
                double dot = 0;
                for (int j = 0; j < n; j++) dot += log ? g[at(j)] : (double)g[at(j)] * y[at(j)];
                // softmax: dx_j = y_j (g_j − dot);   log-softmax: dx_j = g_j − exp(y_j) dot
                for (int j = 0; j < n; j++)
                    dx[at(j)] = log ? (float)(g[at(j)] - Math.Exp(y[at(j)]) * dot) : (float)(y[at(j)] * (g[at(j)] - dot));
            }
    }

    public static void Forward(ReadOnlyMemory<float> x, int outer, int n, int inner, bool log, Memory<float> y)
    {
        Par.For(outer, Math.Max(1, (1 << 14) / Math.Max(1, n * inner)), (o0, o1) =>
        {
            var m = new float[inner];
            var s = new float[inner];
            for (int o = o0; o < o1; o++)
            {
                var xs = x.Span.Slice(o * n * inner, n * inner);
                var ys = y.Span.Slice(o * n * inner, n * inner);
                if (inner == 1) { ForwardRow(xs, log, ys); continue; }
                // m = max_j x_j;  e_j = exp(x_j − m);  s = Σ_j e_j   (rows of length inner)
                xs[..inner].CopyTo(m);
                for (int j = 1; j < n; j++) TensorPrimitives.Max(m, xs.Slice(j * inner, inner), m);
                s.AsSpan().Clear();
                for (int j = 0; j < n; j++)
                {
                    var yj = ys.Slice(j * inner, inner);
                    TensorPrimitives.Subtract(xs.Slice(j * inner, inner), m, yj);
                    TensorPrimitives.Exp(yj, yj);
                    TensorPrimitives.Add(s, yj, s);
                }
                if (log)
                {
                    // y_j = (x_j − m) − log s
                    TensorPrimitives.Log(s, s);
                    for (int j = 0; j < n; j++)
                    {
                        var yj = ys.Slice(j * inner, inner);
                        TensorPrimitives.Subtract(xs.Slice(j * inner, inner), m, yj);
                        TensorPrimitives.Subtract(yj, s, yj);
                    }
                }
                else
                    for (int j = 0; j < n; j++) TensorPrimitives.Divide(ys.Slice(j * inner, inner), s, ys.Slice(j * inner, inner));
            }
        });
    }

    /// <summary>One contiguous row (inner = 1).</summary>
    private static void ForwardRow(ReadOnlySpan<float> x, bool log, Span<float> y)
    {
        float m = TensorPrimitives.Max(x);
        // y = exp(x − m) / Σ exp(x − m)   or   (x − m) − log Σ exp(x − m)
        TensorPrimitives.Subtract(x, m, y);
        TensorPrimitives.Exp(y, y);
        float s = ReduceKernel.SumAll(y);
        if (!log) { TensorPrimitives.Multiply(y, 1f / s, y); return; }
        TensorPrimitives.Subtract(x, m, y);
        TensorPrimitives.Subtract(y, MathF.Log(s), y);
    }

    public static void Backward(ReadOnlyMemory<float> y, ReadOnlyMemory<float> g, int outer, int n, int inner, bool log, Memory<float> dx)
    {
        Par.For(outer, Math.Max(1, (1 << 14) / Math.Max(1, n * inner)), (o0, o1) =>
        {
            var dot = new float[inner];
            var tmp = new float[inner];
            for (int o = o0; o < o1; o++)
            {
                var ys = y.Span.Slice(o * n * inner, n * inner);
                var gs = g.Span.Slice(o * n * inner, n * inner);
                var ds = dx.Span.Slice(o * n * inner, n * inner);
                if (inner == 1)
                {
                    if (log)
                    {
                        // dx = g − exp(y) Σ g
                        float sg = ReduceKernel.SumAll(gs);
                        TensorPrimitives.Exp(ys, ds);
                        TensorPrimitives.MultiplyAdd(ds, -sg, gs, ds);
                    }
                    else
                    {
                        // dx = y ⊙ (g − Σ g⊙y)
                        float d = TensorPrimitives.Dot(gs, ys);
                        TensorPrimitives.Subtract(gs, d, ds);
                        TensorPrimitives.Multiply(ds, ys, ds);
                    }
                    continue;
                }
                // dot = Σ_j g_j (log-softmax)  or  Σ_j g_j ⊙ y_j (softmax), rows of length inner
                dot.AsSpan().Clear();
                for (int j = 0; j < n; j++)
                {
                    var gj = gs.Slice(j * inner, inner);
                    if (log) TensorPrimitives.Add(dot, gj, dot);
                    else TensorPrimitives.MultiplyAdd(gj, ys.Slice(j * inner, inner), dot, dot);
                }
                for (int j = 0; j < n; j++)
                {
                    ReadOnlySpan<float> yj = ys.Slice(j * inner, inner), gj = gs.Slice(j * inner, inner);
                    var dj = ds.Slice(j * inner, inner);
                    if (log)
                    {
                        // dx_j = g_j − exp(y_j) ⊙ dot
                        TensorPrimitives.Exp(yj, tmp);
                        TensorPrimitives.Multiply(tmp, dot, tmp);
                        TensorPrimitives.Subtract(gj, tmp, dj);
                    }
                    else
                    {
                        // dx_j = y_j ⊙ (g_j − dot)
                        TensorPrimitives.Subtract(gj, dot, tmp);
                        TensorPrimitives.Multiply(yj, tmp, dj);
                    }
                }
            }
        });
    }
}
