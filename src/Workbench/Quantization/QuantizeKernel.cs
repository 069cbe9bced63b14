using System.Runtime.Intrinsics;
using Workbench.Engine;

namespace Workbench.Quantization;

/// <summary>
/// Block-wise absmax quantisation, as bitsandbytes' reference backend computes it (all fp32):
///   absmax_b = max_{i∈b} |x_i|,  s_i = clamp(x_i · (1/absmax_b), −1, 1),  q_i = argmin_k |s_i − code_k|.
/// A partial last block has its own absmax. 4-bit books pack two indices per byte, the first element in the
/// high nibble; an odd count is padded with the index of 0.0. Shapes: x (n), codes (n/2 rounded up, or n),
/// absmax (n/blockSize rounded up).
/// </summary>
public static class QuantizeKernel
{
    public static int BlockCount(long n, int blockSize) => checked((int)((n + blockSize - 1) / blockSize));

    public static int CodeBytes(long n, int bits) => checked((int)(bits == 4 ? (n + 1) / 2 : n));

    /// <summary>The plain definition: one element at a time, linear search over the codes.</summary>
    public static void Reference(ReadOnlySpan<float> x, CodeBook book, int blockSize, Span<byte> codes, Span<float> absmax)
    {
        Check(x.Length, book, blockSize, codes.Length, absmax.Length);
        var indices = new int[x.Length + 1];
        indices[x.Length] = book.Nearest(0f);                  // padding for an odd 4-bit count
        for (int b = 0; b * (long)blockSize < x.Length; b++)
        {
            int start = b * blockSize, end = Math.Min(x.Length, start + blockSize);
            // absmax_b = max |x_i| over the block
            float m = 0f;
            for (int i = start; i < end; i++) m = MathF.Max(m, MathF.Abs(x[i]));
            absmax[b] = m;
            // q_i = argmin_k |clamp(x_i · (1/absmax_b), −1, 1) − code_k|
            float r = 1f / m;
            for (int i = start; i < end; i++) indices[i] = book.Nearest(Math.Clamp(x[i] * r, -1f, 1f));
        }
        for (int i = 0; i < codes.Length; i++)
            codes[i] = book.Bits == 4 ? (byte)(indices[2 * i] << 4 | indices[2 * i + 1]) : (byte)indices[i];
    }

    /// <summary>
    /// The same bytes, faster: blocks in parallel, absmax and the nearest-code search over all codes in Vector256
    /// (AVX2) for 4-bit books (the same fp32 operations as <see cref="Reference"/>, so the same ties), bisection for 8-bit.
    /// </summary>
    public static unsafe void Fast(ReadOnlySpan<float> x, CodeBook book, int blockSize, Span<byte> codes, Span<float> absmax)
    {
        Check(x.Length, book, blockSize, codes.Length, absmax.Length);
        int n = x.Length, blocks = absmax.Length;
        fixed (float* px = x, pa = absmax)
        fixed (byte* pc = codes)
        {
            nint xAddress = (nint)px, aAddress = (nint)pa, cAddress = (nint)pc;
            Par.For(blocks, Math.Max(1, 32768 / blockSize), (first, last) =>
            {
                for (int b = first; b < last; b++)
                {
                    int start = b * blockSize, count = Math.Min(n - start, blockSize);
                    float* block = (float*)xAddress + start;
                    float m = AbsMax(block, count);
                    ((float*)aAddress)[b] = m;
                    if (book.Bits == 4) QuantizeBlock4(block, count, 1f / m, book, (byte*)cAddress + start / 2);
                    else QuantizeBlock8(block, count, 1f / m, book, (byte*)cAddress + start);
                }
            });
        }
    }

    private static unsafe float AbsMax(float* x, int count)
    {
        int i = 0;
        float m = 0f;
        if (Vector256.IsHardwareAccelerated && count >= 8)
        {
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= count; i += 8) acc = Vector256.Max(acc, Vector256.Abs(Vector256.Load(x + i)));
            for (int k = 0; k < 8; k++) m = MathF.Max(m, acc.GetElement(k));
        }
        for (; i < count; i++) m = MathF.Max(m, MathF.Abs(x[i]));
        return m;
    }

    /// <summary>Indices of one block, two per byte. Blocks start at even elements, so bytes never straddle blocks.</summary>
    private static unsafe void QuantizeBlock4(float* x, int count, float r, CodeBook book, byte* codes)
    {
        var values = book.Values;
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= count; i += 16)
            {
                var first = NearestCodes(Vector256.Load(x + i), r, values);
                var second = NearestCodes(Vector256.Load(x + i + 8), r, values);
                // pairs (even, odd) as one 64-bit lane: byte = even << 4 | odd; then narrow 8 lanes to 8 bytes
                var mask = Vector256.Create(0xFL);
                var a = ((first.AsInt64() & mask) << 4) | (first.AsInt64() >>> 32);
                var b = ((second.AsInt64() & mask) << 4) | (second.AsInt64() >>> 32);
                var bytes = Vector256.Narrow(Vector256.Narrow(Vector256.Narrow(a, b), Vector256<int>.Zero), Vector256<short>.Zero);
                *(ulong*)(codes + i / 2) = bytes.AsUInt64().ToScalar();
            }
        }
        for (; i < count; i += 2)
        {
            int hi = book.Nearest(Math.Clamp(x[i] * r, -1f, 1f));
            int lo = i + 1 < count ? book.Nearest(Math.Clamp(x[i + 1] * r, -1f, 1f)) : book.Nearest(0f);
            codes[i / 2] = (byte)(hi << 4 | lo);
        }
    }

    /// <summary>argmin_k |clamp(x·r, −1, 1) − code_k| for 8 lanes, with the same fp32 operations and ties as <see cref="CodeBook.Nearest"/>.</summary>
    private static Vector256<int> NearestCodes(Vector256<float> x, float r, float[] values)
    {
        var one = Vector256<float>.One;
        // s = clamp(x · r, −1, 1), written with compares so that NaN passes through as in Math.Clamp
        var s = x * Vector256.Create(r);
        s = Vector256.ConditionalSelect(Vector256.GreaterThan(s, one), one, s);
        s = Vector256.ConditionalSelect(Vector256.LessThan(s, -one), -one, s);
        // strict < keeps the first index on ties, and NaN (never closer) keeps index 0
        var best = Vector256.Abs(s - Vector256.Create(values[0]));
        var index = Vector256<int>.Zero;
        for (int k = 1; k < values.Length; k++)
        {
            var d = Vector256.Abs(s - Vector256.Create(values[k]));
            var closer = Vector256.LessThan(d, best);
            best = Vector256.ConditionalSelect(closer, d, best);
            index = Vector256.ConditionalSelect(closer.AsInt32(), Vector256.Create(k), index);
        }
        return index;
    }

    private static unsafe void QuantizeBlock8(float* x, int count, float r, CodeBook book, byte* codes)
    {
        for (int i = 0; i < count; i++)
        {
            float s = Math.Clamp(x[i] * r, -1f, 1f);
            codes[i] = (byte)(book.IsAscending ? book.NearestAscending(s) : book.Nearest(s));
        }
    }

    private static void Check(int n, CodeBook book, int blockSize, int codeBytes, int blocks)
    {
        if (blockSize <= 0 || blockSize % 16 != 0)
            throw new ArgumentException($"QuantizeKernel: block size {blockSize} is not a positive multiple of 16");
        if (codeBytes != CodeBytes(n, book.Bits) || blocks != BlockCount(n, blockSize))
            throw new ArgumentException($"QuantizeKernel: {n} values in blocks of {blockSize} need {CodeBytes(n, book.Bits)} code bytes and {BlockCount(n, blockSize)} absmax, got {codeBytes} and {blocks}");
    }
}
