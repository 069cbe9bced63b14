using System.Numerics.Tensors;

namespace Workbench.Engine;

/// <summary>
/// RMSNorm (Llama; Gemma's 1 + w form with <c>unitOffset</c>) and LayerNorm (biased variance, like torch), both
/// over the last axis. The weight may be trainable F32 or frozen F16/BF16 (read widened).
/// </summary>
public static partial class Ops
{
    /// <summary>y = x / √(mean(x²) + ε) ⊙ w, or ⊙ (1 + w) when <paramref name="unitOffset"/>.</summary>
    public static Tensor RmsNorm(this Tensor x, Tensor weight, float eps, bool unitOffset = false) =>
        Norm("RmsNorm", x, weight, null, eps, center: false, unitOffset);

    /// <summary>y = (x − mean) / √(var + ε) ⊙ w + b over the last axis.</summary>
    public static Tensor LayerNorm(this Tensor x, Tensor weight, Tensor? bias, float eps) =>
        Norm("LayerNorm", x, weight, bias, eps, center: true, unitOffset: false);

    private static Tensor Norm(string name, Tensor x, Tensor weight, Tensor? bias, float eps, bool center, bool unitOffset)
    {
        int c = x.Rank == 0 ? 0 : x.Shape[^1];
        if (x.Rank == 0 || weight.Rank != 1 || weight.Shape[0] != c)
            throw new ShapeException(name, $"weight {Engine.Shape.Format(weight.Shape)} must be [{c}] for input {Engine.Shape.Format(x.Shape)}");
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != c))
            throw new ShapeException(name, $"bias {Engine.Shape.Format(bias.Shape)} must be [{c}] for input {Engine.Shape.Format(x.Shape)}");
        int rows = (int)(x.Numel / Math.Max(1, c));
        var xv = ValuesOf(x);
        // w' = w, or 1 + w (Gemma)   (C)
        var w = unitOffset ? ValuesOf(weight).AddScalar(1f) : ValuesOf(weight);
        var b = bias is null ? ReadOnlyMemory<float>.Empty : Memory(ValuesOf(bias));
        var y = Tensor.Zeros((int[])x.Shape.Clone());
        var mean = new float[rows];
        var rstd = new float[rows];
        NormKernel.Forward(Memory(xv), Memory(w), b, rows, c, eps, center, Memory(y), mean, rstd);

        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return Autograd.Record(y, name, inputs, g =>
        {
            var dx = x.RequiresGrad ? Tensor.Zeros(x.Shape) : null;
            var dw = weight.RequiresGrad ? Tensor.Zeros(weight.Shape) : null;
            var db = bias is { RequiresGrad: true } ? Tensor.Zeros(bias.Shape) : null;
            NormKernel.Backward(Memory(xv), Memory(w), Memory(ValuesOf(g)), mean, rstd, rows, c, center,
                MemoryOrEmpty(dx), MemoryOrEmpty(dw), MemoryOrEmpty(db));
            return bias is null ? [dx, dw] : [dx, dw, db];
        });
    }

    private static Memory<float> MemoryOrEmpty(Tensor? t) => t is null ? Memory<float>.Empty : Memory(t);
}

/// <summary>
/// Row normalisation of a row-major [rows, C] buffer: x̂ = (x − μ)·r with r = 1/√(mean((x − μ)²) + ε), y = x̂ ⊙ w (+ b).
/// LayerNorm centres (μ = mean x); RMSNorm does not (μ = 0). Forward saves μ and r per row for backward.
/// Backward: dn = g ⊙ w;  dx = r·(dn − mean(dn)·[centred] − x̂·mean(dn ⊙ x̂));  dw = Σ_rows g ⊙ x̂;  db = Σ_rows g.
/// An empty destination is skipped.
/// </summary>
public static class NormKernel
{
    private const int ColumnBlock = 256;

    public static void ForwardReference(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, int rows, int c, float eps, bool center,
        Span<float> y, Span<float> mean, Span<float> rstd)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice(r * c, c);
            // μ = Σ x / C (LayerNorm) or 0 (RMSNorm)
            double mu = 0;
            if (center) { foreach (var v in row) mu += v; mu /= c; }
            // r = 1 / √(Σ (x − μ)² / C + ε)
            double ss = 0;
            foreach (var v in row) ss += (v - mu) * (v - mu);
            double rs = 1 / Math.Sqrt(ss / c + eps);
            // y = (x − μ)·r ⊙ w + b
            for (int i = 0; i < c; i++) y[r * c + i] = (float)((row[i] - mu) * rs * w[i] + (b.IsEmpty ? 0 : b[i]));
            mean[r] = (float)mu;
            rstd[r] = (float)rs;
        }
    }

    public static void BackwardReference(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> g, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd,
        int rows, int c, bool center, Span<float> dx, Span<float> dw, Span<float> db)
    {
        dw.Clear();
        db.Clear();
        for (int r = 0; r < rows; r++)
        {
            double mu = mean[r], rs = rstd[r];
            // a = mean(dn) (centred only), m = mean(dn ⊙ x̂), dn = g ⊙ w
            double a = 0, m = 0;
            for (int i = 0; i < c; i++)
            {
                double dn = g[r * c + i] * w[i], xhat = (x[r * c + i] - mu) * rs;
                a += dn;
                m += dn * xhat;
            }
            a = center ? a / c : 0;
            m /= c;
            for (int i = 0; i < c; i++)
            {
                double xhat = (x[r * c + i] - mu) * rs, gi = g[r * c + i];
                // dx = r·(dn − a − x̂·m);  dw += g ⊙ x̂;  db += g
                if (!dx.IsEmpty) dx[r * c + i] = (float)(rs * (gi * w[i] - a - xhat * m));
                if (!dw.IsEmpty) dw[i] += (float)(gi * xhat);
                if (!db.IsEmpty) db[i] += (float)gi;
            }
        }
    }

    public static void Forward(ReadOnlyMemory<float> x, ReadOnlyMemory<float> w, ReadOnlyMemory<float> b, int rows, int c, float eps, bool center,
        Memory<float> y, Memory<float> mean, Memory<float> rstd)
    {
        Par.For(rows, Math.Max(1, (1 << 14) / Math.Max(1, c)), (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                var row = x.Span.Slice(r * c, c);
                var yr = y.Span.Slice(r * c, c);
                // μ = Σ x / C or 0;  yr = x − μ;  r = 1/√(Σ yr² / C + ε)
                float mu = center ? ReduceKernel.SumAll(row) / c : 0f;
                TensorPrimitives.Subtract(row, mu, yr);
                float rs = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(yr) / c + eps);
                // y = yr·r ⊙ w + b
                TensorPrimitives.Multiply(yr, rs, yr);
                if (b.IsEmpty) TensorPrimitives.Multiply(yr, w.Span, yr);
                else TensorPrimitives.FusedMultiplyAdd(yr, w.Span, b.Span, yr);
                mean.Span[r] = mu;
                rstd.Span[r] = rs;
            }
        });
    }

    public static void Backward(ReadOnlyMemory<float> x, ReadOnlyMemory<float> w, ReadOnlyMemory<float> g, ReadOnlyMemory<float> mean, ReadOnlyMemory<float> rstd,
        int rows, int c, bool center, Memory<float> dx, Memory<float> dw, Memory<float> db)
    {
        if (!dx.IsEmpty)
            Par.For(rows, Math.Max(1, (1 << 14) / Math.Max(1, c)), (r0, r1) =>
            {
                var dn = new float[c];
                var xc = new float[c];
                for (int r = r0; r < r1; r++)
                {
                    float rs = rstd.Span[r];
                    // dn = g ⊙ w;  xc = x − μ;  a = mean(dn) or 0;  m = mean(dn ⊙ x̂) = r·(dn · xc)/C
                    TensorPrimitives.Multiply(g.Span.Slice(r * c, c), w.Span, dn);
                    TensorPrimitives.Subtract(x.Span.Slice(r * c, c), mean.Span[r], xc);
                    float a = center ? ReduceKernel.SumAll(dn) / c : 0f;
                    float m = rs * TensorPrimitives.Dot(dn, xc) / c;
                    // dx = r·(dn − a) − r²·m·xc
                    var dxr = dx.Span.Slice(r * c, c);
                    TensorPrimitives.Subtract(dn, a, dn);
                    TensorPrimitives.Multiply(dn, rs, dxr);
                    TensorPrimitives.MultiplyAdd(xc, -rs * rs * m, dxr, dxr);
                }
            });
        if (dw.IsEmpty && db.IsEmpty) return;
        // Column blocks, each summing over all rows: dw = Σ_rows g ⊙ x̂,  db = Σ_rows g (deterministic order).
        dw.Span.Clear();
        db.Span.Clear();
        int blocks = (c + ColumnBlock - 1) / ColumnBlock;
        Par.For(blocks, Math.Max(1, (1 << 14) / Math.Max(1, rows * ColumnBlock)), (k0, k1) =>
        {
            var xhat = new float[ColumnBlock];
            for (int k = k0; k < k1; k++)
            {
                int c0 = k * ColumnBlock, len = Math.Min(ColumnBlock, c - c0);
                var xh = xhat.AsSpan(0, len);
                for (int r = 0; r < rows; r++)
                {
                    var gr = g.Span.Slice(r * c + c0, len);
                    if (!db.IsEmpty) TensorPrimitives.Add(db.Span.Slice(c0, len), gr, db.Span.Slice(c0, len));
                    if (dw.IsEmpty) continue;
                    // x̂ = (x − μ)·r
                    TensorPrimitives.Subtract(x.Span.Slice(r * c + c0, len), mean.Span[r], xh);
                    TensorPrimitives.Multiply(xh, rstd.Span[r], xh);
                    TensorPrimitives.MultiplyAdd(gr, xh, dw.Span.Slice(c0, len), dw.Span.Slice(c0, len));
                }
            }
        });
    }
}
