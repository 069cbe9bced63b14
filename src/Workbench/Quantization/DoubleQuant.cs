using System.Numerics.Tensors;

namespace Workbench.Quantization;

/// <summary>
/// The absmax constants of a 4-bit tensor, themselves quantised (QLoRA's "double quantisation"): one fp32
/// offset for the whole tensor, one 8-bit dynamic-map code per block, one fp32 absmax per 256 codes.
/// </summary>
public sealed record NestedAbsmax(byte[] Codes, float[] Absmax, float Offset, CodeBook Book)
{
    public const int BlockSize = 256;
}

/// <summary>
/// Double quantisation as bitsandbytes does it (functional.quantize_4bit, compress_statistics=True):
///   offset = mean(absmax);  (absmax − offset) quantised block-wise (256) with the signed dynamic map;
///   absmax_b ≈ dynamic[q_b] · nested_absmax_{b/256} + offset.
/// Storage per parameter at block size 64: 8/64 + 32/(64·256) ≈ 0.127 bits instead of 32/64 = 0.5.
/// </summary>
public static class DoubleQuant
{
    private const int FewBlocks = 16;

    /// <summary>
    /// bitsandbytes takes the mean in fp32 with torch's summation order; we sum in double and round once, so the
    /// offset can differ from torch's by an ulp (it is stored in the state, so loading is unaffected).
    /// </summary>
    public static NestedAbsmax Compress(ReadOnlySpan<float> absmax)
    {
        double sum = 0;
        foreach (var a in absmax) sum += a;
        float offset = (float)(sum / absmax.Length);
        // centred_b = absmax_b − offset
        var centred = new float[absmax.Length];
        TensorPrimitives.Subtract(absmax, offset, centred);
        var codes = new byte[centred.Length];
        var nested = new float[QuantizeKernel.BlockCount(centred.Length, NestedAbsmax.BlockSize)];
        QuantizeKernel.Fast(centred, DynamicMap.Signed, NestedAbsmax.BlockSize, codes, nested);
        return new NestedAbsmax(codes, nested, offset, DynamicMap.Signed);
    }

    /// <summary>Decodes the absmax of blocks [firstBlock, firstBlock + dst.Length): dynamic[q]·nested + offset.</summary>
    public static void Expand(NestedAbsmax nested, int firstBlock, Span<float> dst)
    {
        if (dst.Length <= FewBlocks)
        {
            // the GEMM's reads need a few scales at a time: the definition beats the vector kernel's setup
            for (int i = 0; i < dst.Length; i++)
            {
                int b = firstBlock + i;
                dst[i] = nested.Book.Values[nested.Codes[b]] * nested.Absmax[b / NestedAbsmax.BlockSize] + nested.Offset;
            }
            return;
        }
        int nestedFirst = firstBlock / NestedAbsmax.BlockSize;
        int nestedCount = dst.IsEmpty ? 0 : (firstBlock + dst.Length - 1) / NestedAbsmax.BlockSize - nestedFirst + 1;
        DequantizeKernel.Fast(nested.Codes, nested.Absmax.AsSpan(nestedFirst, nestedCount), nested.Book, NestedAbsmax.BlockSize, firstBlock, dst);
        TensorPrimitives.Add(dst, nested.Offset, dst);
    }
}
