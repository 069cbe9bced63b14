using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Workbench.Engine;

namespace Workbench.Quantization;

/// <summary>
/// Block-wise dequantisation of the elements [start, start + dst.Length) of a quantised tensor:
///   x_i = code[q_i] · absmax_{i / blockSize}
/// where <c>absmax</c> holds the scales of the blocks from block start/blockSize on (so a caller can decode a
/// slice of a double-quantised tensor without expanding every scale). 4-bit indices are two per byte, the
/// first element in the high nibble.
/// </summary>
public static class DequantizeKernel
{
    /// <summary>The plain definition, one element at a time.</summary>
    public static void Reference(ReadOnlySpan<byte> codes, ReadOnlySpan<float> absmax, CodeBook book, int blockSize, long start, Span<float> dst)
    {
        long firstBlock = start / blockSize;
        for (int j = 0; j < dst.Length; j++)
        {
            long i = start + j;
            int q = book.Bits == 4 ? (i % 2 == 0 ? codes[(int)(i / 2)] >> 4 : codes[(int)(i / 2)] & 0xF) : codes[(int)i];
            // x_i = code[q_i] · absmax_b
            dst[j] = book.Values[q] * absmax[(int)(i / blockSize - firstBlock)];
        }
    }

    /// <summary>
    /// The same values, faster: block segments in parallel; 4-bit books decode 8 elements per step with AVX2
    /// table permutes (vpermps over the 16 codes) and one multiply.
    /// </summary>
    public static unsafe void Fast(ReadOnlySpan<byte> codes, ReadOnlySpan<float> absmax, CodeBook book, int blockSize, long start, Span<float> dst)
    {
        int count = dst.Length;
        long firstBlock = start / blockSize;
        int blocks = count == 0 ? 0 : (int)((start + count - 1) / blockSize - firstBlock + 1);
        int minChunk = Math.Max(1, 32768 / blockSize);
        fixed (byte* pc = codes)
        fixed (float* pa = absmax, pd = dst)
        {
            // the GEMM decodes a few blocks at a time from its own workers: no closure, no scheduling
            if (blocks < 2 * minChunk || Par.InParallelRegion) Blocks(pc, pa, book, blockSize, start, count, pd, 0, blocks);
            else InParallel((nint)pc, (nint)pa, book, blockSize, start, count, (nint)pd, blocks, minChunk);
        }
    }

    private static unsafe void InParallel(nint codes, nint absmax, CodeBook book, int blockSize, long start, int count, nint dst, int blocks, int minChunk) =>
        Par.For(blocks, minChunk, (first, last) => Blocks((byte*)codes, (float*)absmax, book, blockSize, start, count, (float*)dst, first, last));

    /// <summary>Blocks firstBlock + [first, last) of the range, each the part of it that lies in [start, start + count).</summary>
    private static unsafe void Blocks(byte* codes, float* absmax, CodeBook book, int blockSize, long start, int count, float* dst, int first, int last)
    {
        long firstBlock = start / blockSize;
        for (int b = first; b < last; b++)
        {
            long from = Math.Max(start, (firstBlock + b) * blockSize);
            long to = Math.Min(start + count, (firstBlock + b + 1) * blockSize);
            float* output = dst + (from - start);
            if (book.Bits == 4) Segment4(codes, from, (int)(to - from), book.Table16, absmax[b], output);
            else Segment8(codes + from, (int)(to - from), book.Values, absmax[b], output);
        }
    }

    private static unsafe void Segment4(byte* codes, long from, int count, float[] table, float scale, float* dst)
    {
        int j = 0;
        // one element to reach an even index, so that the vector loop starts on a byte boundary
        if ((from & 1) == 1 && count > 0) { dst[0] = table[codes[from / 2] & 0xF] * scale; j = 1; }
        if (Avx2.IsSupported)
        {
            // the block's codes times its scale (the same products as code[q]·scale), as two 8-entry tables
            var low = Vector256.Create(table.AsSpan(0, 8)) * scale;
            var high = Vector256.Create(table.AsSpan(8, 8)) * scale;
            var nibble = Vector128.Create((byte)0xF);
            for (; j + 32 <= count; j += 32)
            {
                // 16 bytes → 32 indices in order: element 2k is byte k's high nibble, 2k + 1 its low one
                var bytes = Vector128.Load(codes + (from + j) / 2);
                var highNibbles = Sse2.ShiftRightLogical(bytes.AsUInt16(), 4).AsByte() & nibble;
                var lowNibbles = bytes & nibble;
                var first = Sse2.UnpackLow(highNibbles, lowNibbles);
                var second = Sse2.UnpackHigh(highNibbles, lowNibbles);
                Lookup8(first, low, high, dst + j);
                Lookup8(Sse2.ShiftRightLogical128BitLane(first, 8), low, high, dst + j + 8);
                Lookup8(second, low, high, dst + j + 16);
                Lookup8(Sse2.ShiftRightLogical128BitLane(second, 8), low, high, dst + j + 24);
            }
            for (; j + 8 <= count; j += 8)
            {
                var bytes = Vector128.CreateScalar(*(uint*)(codes + (from + j) / 2)).AsByte();
                Lookup8(Sse2.UnpackLow(Sse2.ShiftRightLogical(bytes.AsUInt16(), 4).AsByte() & nibble, bytes & nibble), low, high, dst + j);
            }
        }
        for (; j < count; j++)
        {
            long i = from + j;
            int q = (i & 1) == 0 ? codes[i / 2] >> 4 : codes[i / 2] & 0xF;
            dst[j] = table[q] * scale;
        }
    }

    /// <summary>
    /// table[q] for the 8 indices in the low bytes of <paramref name="indices"/>: vpermps looks up low[q] and
    /// high[q] by q's low 3 bits, and bit 3, shifted into the sign, picks one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Lookup8(Vector128<byte> indices, Vector256<float> low, Vector256<float> high, float* dst)
    {
        var q = Avx2.ConvertToVector256Int32(indices);
        Avx.BlendVariable(Avx2.PermuteVar8x32(low, q), Avx2.PermuteVar8x32(high, q), Avx2.ShiftLeftLogical(q, 28).AsSingle()).Store(dst);
    }

    private static unsafe void Segment8(byte* codes, int count, float[] values, float scale, float* dst)
    {
        var output = new Span<float>(dst, count);
        for (int j = 0; j < count; j++) output[j] = values[codes[j]];
        TensorPrimitives.Multiply(output, scale, output);
    }
}
