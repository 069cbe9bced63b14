using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Workbench.Engine;

/// <summary>
/// Counter-based standard normal values, for synthetic weights: element i depends only on a 64-bit key and i, so a
/// tensor of billions of elements is filled in parallel, chunk by chunk, with the same values on any number of
/// cores. With k₁, k₂ the key's low and high halves and H Wellons' 32-bit integer hash (lowbias32):
///   h(i) = H(H(i ⊕ k₁) + k₂)
///   u₁ = (⌊h(2j)/2⁸⌋ + 1)·2⁻²⁴ ∈ (0, 1],  u₂ = ⌊h(2j+1)/2⁸⌋·2⁻²⁴ ∈ [0, 1)
///   x₂ⱼ = √(−2 ln u₁)·cos 2πu₂,  x₂ⱼ₊₁ = √(−2 ln u₁)·sin 2πu₂      (Box–Muller, fp32)
/// <see cref="Reference"/> computes one pair at a time with MathF; <see cref="Fast"/> hashes eight counters per
/// step and takes the logarithms, roots and sines over whole chunks with TensorPrimitives, the cores splitting
/// the chunks. The two agree to a few fp32 ulps (not bit for bit: the vector sine is not MathF's).
/// </summary>
public static class NormalNoise
{
    /// <summary>Pairs per chunk: the unit of parallel work and the size of the scratch buffers.</summary>
    private const int ChunkPairs = 4096;

    public static void Reference(ulong key, float std, Span<float> dst)
    {
        uint k1 = (uint)key, k2 = (uint)(key >> 32);
        for (long j = 0; 2 * j < dst.Length; j++)
        {
            // u₁ ∈ (0, 1], u₂ ∈ [0, 1) from the hashes of counters 2j and 2j + 1
            float u1 = ((Hash((uint)(2 * j) ^ k1, k2) >> 8) + 1) * (1f / (1 << 24));
            float u2 = (Hash((uint)(2 * j + 1) ^ k1, k2) >> 8) * (1f / (1 << 24));
            // x = √(−2 ln u₁)·(cos 2πu₂, sin 2πu₂)·std
            float r = MathF.Sqrt(-2f * MathF.Log(u1)) * std;
            dst[(int)(2 * j)] = r * MathF.Cos(2f * MathF.PI * u2);
            if (2 * j + 1 < dst.Length) dst[(int)(2 * j + 1)] = r * MathF.Sin(2f * MathF.PI * u2);
        }
    }

    public static unsafe void Fast(ulong key, float std, Span<float> dst)
    {
        int n = dst.Length, pairs = (n + 1) / 2, chunks = (pairs + ChunkPairs - 1) / ChunkPairs;
        fixed (float* p = dst)
        {
            nint address = (nint)p;
            Par.For(chunks, 4, (first, last) =>
            {
                var u1 = new float[ChunkPairs];
                var u2 = new float[ChunkPairs];
                var sin = new float[ChunkPairs];
                var cos = new float[ChunkPairs];
                for (int c = first; c < last; c++)
                {
                    int j0 = c * ChunkPairs, count = Math.Min(ChunkPairs, pairs - j0);
                    Uniforms(key, j0, u1.AsSpan(0, count), u2.AsSpan(0, count));
                    var r = u1.AsSpan(0, count);
                    // r = √(−2 ln u₁)·std; sin and cos of 2πu₂
                    TensorPrimitives.Log(r, r);
                    TensorPrimitives.Multiply(r, -2f, r);
                    TensorPrimitives.Sqrt(r, r);
                    TensorPrimitives.Multiply(r, std, r);
                    // (SinCosPi has no vector form; Sin and Cos each do.)
                    TensorPrimitives.Multiply(u2.AsSpan(0, count), 2f * MathF.PI, u2.AsSpan(0, count));
                    TensorPrimitives.Sin(u2.AsSpan(0, count), sin.AsSpan(0, count));
                    TensorPrimitives.Cos(u2.AsSpan(0, count), cos.AsSpan(0, count));
                    float* o = (float*)address + 2L * j0;
                    int full = Math.Min(count, (n - 2 * j0) / 2);
                    for (int j = 0; j < full; j++) { o[2 * j] = r[j] * cos[j]; o[2 * j + 1] = r[j] * sin[j]; }
                    if (full < count) o[2 * full] = r[full] * cos[full];         // odd n: the last pair has one element
                }
            });
        }
    }

    /// <summary>u₁, u₂ of pairs j0 … j0 + count − 1 (see the class summary), eight pairs per vector step.</summary>
    private static void Uniforms(ulong key, int j0, Span<float> u1, Span<float> u2)
    {
        uint k1 = (uint)key, k2 = (uint)(key >> 32);
        const float scale = 1f / (1 << 24);
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var even = Vector256.Create(0u, 2, 4, 6, 8, 10, 12, 14);
            for (; j + 8 <= u1.Length; j += 8)
            {
                var counter = Vector256.Create((uint)(2 * (j0 + j))) + even;
                var h1 = Hash(counter ^ Vector256.Create(k1), k2);
                var h2 = Hash((counter + Vector256<uint>.One) ^ Vector256.Create(k1), k2);
                (Vector256.ConvertToSingle(((h1 >>> 8) + Vector256<uint>.One).AsInt32()) * scale).CopyTo(u1.Slice(j, 8));
                (Vector256.ConvertToSingle((h2 >>> 8).AsInt32()) * scale).CopyTo(u2.Slice(j, 8));
            }
        }
        for (; j < u1.Length; j++)
        {
            uint counter = (uint)(2 * (j0 + j));
            u1[j] = ((Hash(counter ^ k1, k2) >> 8) + 1) * scale;
            u2[j] = (Hash((counter + 1) ^ k1, k2) >> 8) * scale;
        }
    }

    /// <summary>H(H(x) + k₂), H = lowbias32: x ⊕= x≫16; x ·= 0x7feb352d; x ⊕= x≫15; x ·= 0x846ca68b; x ⊕= x≫16.</summary>
    private static uint Hash(uint x, uint k2) => Lowbias(Lowbias(x) + k2);

    private static uint Lowbias(uint x)
    {
        x ^= x >> 16; x *= 0x7feb352d;
        x ^= x >> 15; x *= 0x846ca68b;
        return x ^ (x >> 16);
    }

    private static Vector256<uint> Hash(Vector256<uint> x, uint k2) => Lowbias(Lowbias(x) + Vector256.Create(k2));

    private static Vector256<uint> Lowbias(Vector256<uint> x)
    {
        x ^= x >>> 16; x *= Vector256.Create(0x7feb352du);
        x ^= x >>> 15; x *= Vector256.Create(0x846ca68bu);
        return x ^ (x >>> 16);
    }
}
