namespace Workbench.Engine;

public static partial class Ops
{
    /// <summary>
    /// Inverted dropout with a counter-based mask: element i is kept when <see cref="DropoutMask.Uniform"/>(seed, i) ≥ p
    /// and then scaled by 1/(1 − p). The mask is a pure function of (seed, i), so a recomputation under gradient
    /// checkpointing with the same seed drops the same elements, and backward regenerates it instead of storing it.
    /// Seed it per call site and step (e.g. <see cref="DropoutMask.Seed"/>(seed, step, layer)), not from a shared RNG.
    /// </summary>
    public static Tensor Dropout(this Tensor x, float p, ulong seed)
    {
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout: p must be in [0, 1)");
        if (p == 0f) return x;
        var xv = ValuesOf(x);
        var y = Tensor.Zeros((int[])x.Shape.Clone());
        DropoutMask.Apply(xv.Span, p, seed, y.Span);
        // dx = g ⊙ mask / (1 − p), with the same mask regenerated from the seed
        return Autograd.Record(y, "Dropout", [x], g =>
        {
            var dx = Tensor.Zeros((int[])g.Shape.Clone());
            DropoutMask.Apply(g.Contiguous().Span, p, seed, dx.Span);
            return [dx];
        });
    }
}

/// <summary>The keep/drop decision of <see cref="Ops.Dropout"/>: SplitMix64 of (seed, element index).</summary>
public static class DropoutMask
{
    /// <summary>One seed from a base seed, a step counter and a call-site id (layer, adapter).</summary>
    public static ulong Seed(long seed, long step, long site) => StableHash.Combine(seed, step, site);

    /// <summary>A uniform value in [0, 1) with 24 random bits, a pure function of (seed, i).</summary>
    public static float Uniform(ulong seed, long i) => (StableHash.Mix(seed + 0x9E3779B97F4A7C15UL * (ulong)(i + 1)) >> 40) * (1f / (1 << 24));

    /// <summary>y_i = x_i / (1 − p) where Uniform(seed, i) ≥ p, else 0.</summary>
    public static void Apply(ReadOnlySpan<float> x, float p, ulong seed, Span<float> y)
    {
        float keepScale = 1f / (1f - p);
        for (int i = 0; i < x.Length; i++) y[i] = Uniform(seed, i) >= p ? x[i] * keepScale : 0f;
    }
}
