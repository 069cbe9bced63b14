using System.Runtime.Intrinsics;

namespace Workbench.Engine;

/// <summary>
/// Rotary position tables for positions [0, maxPositions): cos and sin of position · inv_freq, where
/// inv_freq_i = 1 / θ^(2i / rotaryDim) for i &lt; rotaryDim/2, then stretched by the model's <see cref="RopeScaling"/>.
/// Computed in float32 exactly as transformers does (float32 exponent, float32 power, float32 product), so far
/// positions round the same way.
/// </summary>
public sealed class RopeCache
{
    public int HeadDim { get; }
    /// <summary>Features rotated at the start of each head (GPT-NeoX rotary_pct · headDim); the rest pass through.</summary>
    public int RotaryDim { get; }
    public float Theta { get; }
    public int MaxPositions { get; }
    public RopeScaling Scaling { get; }
    /// <summary>[rotaryDim/2] the angle per position of each rotary pair, after scaling.</summary>
    public float[] InverseFrequencies { get; }

    // [maxPositions, rotaryDim/2]: the two halves of a rotary pair share one angle.
    internal readonly float[] Cos, Sin;

    public RopeCache(int headDim, int rotaryDim, float theta, int maxPositions, RopeScaling? scaling = null)
    {
        if (rotaryDim <= 0 || rotaryDim % 2 != 0 || rotaryDim > headDim)
            throw new ShapeException("RopeCache", $"rotaryDim {rotaryDim} must be even, positive and at most headDim {headDim}");
        if (maxPositions <= 0) throw new ShapeException("RopeCache", $"maxPositions {maxPositions} must be positive");
        (HeadDim, RotaryDim, Theta, MaxPositions, Scaling) = (headDim, rotaryDim, theta, maxPositions, scaling ?? RopeScaling.None);
        int half = rotaryDim / 2;
        var invFreq = new float[half];
        // inv_freq_i = 1 / θ^((2i) / rotaryDim), each step rounded to float32
        for (int i = 0; i < half; i++) invFreq[i] = 1f / MathF.Pow(theta, (float)(2 * i) / rotaryDim);
        InverseFrequencies = invFreq = Scaling.Apply(invFreq);
        Cos = new float[maxPositions * half];
        Sin = new float[maxPositions * half];
        // angle[p, i] = float32(p · inv_freq_i)
        for (int p = 0; p < maxPositions; p++)
            for (int i = 0; i < half; i++)
            {
                float angle = p * invFreq[i];
                Cos[p * half + i] = MathF.Cos(angle);
                Sin[p * half + i] = MathF.Sin(angle);
            }
    }
}

public static partial class Ops
{
    /// <summary>Rotary embedding of x [B, H, T, headDim] at positions startPosition … startPosition+T−1.</summary>
    public static Tensor Rope(this Tensor x, RopeCache cache, int startPosition = 0)
    {
        int t = x.Rank == 4 ? x.Shape[2] : 0;
        return x.Rope(cache, Enumerable.Range(startPosition, t).ToArray());
    }

    /// <summary>
    /// Rotary embedding of x [B, H, T, headDim] (rotate-half convention): y = x·cos + rotate_half(x)·sin on the
    /// first rotaryDim features, the rest copied. Positions: [T], shared by every row, or [B·T], one per row and
    /// time step (left-padded batches, whose rows start at different offsets). Backward rotates back.
    /// </summary>
    public static Tensor Rope(this Tensor x, RopeCache cache, int[] positions)
    {
        if (x.Rank != 4 || x.Shape[3] != cache.HeadDim)
            throw new ShapeException("Rope", $"expects x [B, H, T, {cache.HeadDim}], got {Engine.Shape.Format(x.Shape)}");
        if (positions.Length != x.Shape[2] && positions.Length != x.Shape[0] * x.Shape[2])
            throw new ShapeException("Rope", $"{positions.Length} positions for T = {x.Shape[2]} (or B·T) in {Engine.Shape.Format(x.Shape)}");
        foreach (var p in positions)
            if ((uint)p >= (uint)cache.MaxPositions)
                throw new ShapeException("Rope", $"position {p} is outside the cache's [0, {cache.MaxPositions})");

        var xc = x.Contiguous();                                   // [B, H, T, D]
        var y = Tensor.Zeros((int[])x.Shape.Clone());
        int batch = positions.Length == x.Shape[2] ? 1 : x.Shape[0];
        RopeKernel.Fast(xc.Span, cache, positions, y.Span, sign: 1f, batch);
        return Autograd.Record(y, "Rope", [xc], g =>
        {
            // dx = Rᵀ(pos)·dy: the same rotation with −sin
            var dx = Tensor.Zeros((int[])xc.Shape.Clone());
            RopeKernel.Fast(g.Contiguous().Span, cache, positions, dx.Span, sign: -1f, batch);
            return [dx];
        });
    }
}

/// <summary>
/// Rotates rows of length headDim: row r of batch entry b = r / (rows/batch) has time step t = r mod T and
/// position positions[b·T + t] (positions holds batch·T entries). sign = +1 rotates by +angle (forward),
/// sign = −1 by −angle (backward, the transpose of the rotation).
/// </summary>
public static class RopeKernel
{
    public static void Reference(ReadOnlySpan<float> x, RopeCache cache, int[] positions, Span<float> y, float sign, int batch = 1)
    {
        int d = cache.HeadDim, half = cache.RotaryDim / 2;
        int rows = x.Length / d;
        for (int r = 0; r < rows; r++)
        {
            int row = r * d, table = PositionOf(r, rows, positions, batch) * half;
            for (int i = 0; i < half; i++)
            {
                float c = cache.Cos[table + i], s = sign * cache.Sin[table + i];
                float x1 = x[row + i], x2 = x[row + half + i];
                // y1 = x1·cos − x2·sin ; y2 = x2·cos + x1·sin
                y[row + i] = x1 * c - x2 * s;
                y[row + half + i] = x2 * c + x1 * s;
            }
            for (int i = cache.RotaryDim; i < d; i++) y[row + i] = x[row + i];
        }
    }

    /// <summary>Vector256 over the rotary pairs, rows split across cores.</summary>
    public static void Fast(ReadOnlySpan<float> x, RopeCache cache, int[] positions, Span<float> y, float sign, int batch = 1)
    {
        unsafe
        {
            fixed (float* px = x, py = y)
            {
                nint xp = (nint)px, yp = (nint)py;
                int d = cache.HeadDim, rows = x.Length / d;
                Par.For(rows, Math.Max(1, 16384 / d), (start, end) =>
                {
                    for (int r = start; r < end; r++)
                        RotateRow(new ReadOnlySpan<float>((float*)xp + (long)r * d, d), cache,
                            PositionOf(r, rows, positions, batch), new Span<float>((float*)yp + (long)r * d, d), sign);
                });
            }
        }
    }

    /// <summary>positions[b·T + r mod T] for row r of batch entry b = r / (rows / batch).</summary>
    private static int PositionOf(int r, int rows, int[] positions, int batch)
    {
        int t = positions.Length / batch;
        return positions[r / (rows / batch) * t + r % t];
    }

    private static void RotateRow(ReadOnlySpan<float> x, RopeCache cache, int position, Span<float> y, float sign)
    {
        int half = cache.RotaryDim / 2;
        var cos = cache.Cos.AsSpan(position * half, half);
        var sin = cache.Sin.AsSpan(position * half, half);
        var x1 = x[..half]; var x2 = x.Slice(half, half);
        var y1 = y[..half]; var y2 = y.Slice(half, half);
        var vsign = Vector256.Create(sign);
        int i = 0;
        for (; i + Vector256<float>.Count <= half; i += Vector256<float>.Count)
        {
            var c = Vector256.Create(cos.Slice(i, 8));
            var s = vsign * Vector256.Create(sin.Slice(i, 8));
            var a = Vector256.Create(x1.Slice(i, 8));
            var b = Vector256.Create(x2.Slice(i, 8));
            (a * c - b * s).CopyTo(y1.Slice(i, 8));
            (b * c + a * s).CopyTo(y2.Slice(i, 8));
        }
        for (; i < half; i++)
        {
            float c = cos[i], s = sign * sin[i];
            y1[i] = x1[i] * c - x2[i] * s;
            y2[i] = x2[i] * c + x1[i] * s;
        }
        x[cache.RotaryDim..].CopyTo(y[cache.RotaryDim..]);
    }
}
