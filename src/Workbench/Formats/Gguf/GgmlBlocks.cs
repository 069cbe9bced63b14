using System.Buffers.Binary;

namespace Workbench.Formats.Gguf;

/// <summary>
/// ggml's reference block quantisation (ggml-quants.c <c>quantize_row_q8_0_ref</c>, <c>quantize_row_q4_0_ref</c>;
/// gguf-py quants.py does the same in numpy). A block is 32 consecutive elements of a row:
/// <code>
/// Q8_0: f16 d, int8 qs[32]        d = max|x| / 127;   qs[j] = round(x[j] / d) (half away from zero)
/// Q4_0: f16 d, uint8 qs[16]       d = m / −8 with m the element of largest |x| (the first, on ties);
///                                 q[j] = min(15, trunc(x[j] / d + 8.5));  qs[j] = q[j] | q[j + 16] &lt;&lt; 4
/// </code>
/// Both multiply by the reciprocal id = 1/d (0 when d = 0) rather than divide, as ggml does; d is rounded to f16
/// only when stored. Q4_0's x·id + 8.5 is computed in double, as gguf-py does, so the result does not depend
/// on whether the compiler fuses it.
/// </summary>
public static class GgmlBlocks
{
    public const int BlockSize = 32;
    public const int Q8_0Bytes = 2 + BlockSize;
    public const int Q4_0Bytes = 2 + BlockSize / 2;

    /// <summary>Quantises <paramref name="x"/> (whole blocks) into <paramref name="output"/> (34 bytes per block).</summary>
    public static void QuantizeQ8_0(ReadOnlySpan<float> x, Span<byte> output)
    {
        CheckSizes(x.Length, output.Length, Q8_0Bytes);
        for (int b = 0; b < x.Length / BlockSize; b++)
        {
            var block = x.Slice(b * BlockSize, BlockSize);
            var o = output.Slice(b * Q8_0Bytes, Q8_0Bytes);
            float amax = 0;
            foreach (var v in block) amax = MathF.Max(amax, MathF.Abs(v));
            float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
            BinaryPrimitives.WriteHalfLittleEndian(o, (Half)d);
            for (int j = 0; j < BlockSize; j++) o[2 + j] = (byte)(sbyte)MathF.Round(block[j] * id, MidpointRounding.AwayFromZero);
        }
    }

    /// <summary>Quantises <paramref name="x"/> (whole blocks) into <paramref name="output"/> (18 bytes per block).</summary>
    public static void QuantizeQ4_0(ReadOnlySpan<float> x, Span<byte> output)
    {
        CheckSizes(x.Length, output.Length, Q4_0Bytes);
        for (int b = 0; b < x.Length / BlockSize; b++)
        {
            var block = x.Slice(b * BlockSize, BlockSize);
            var o = output.Slice(b * Q4_0Bytes, Q4_0Bytes);
            float amax = 0, max = 0;
            foreach (var v in block)
                if (amax < MathF.Abs(v)) { amax = MathF.Abs(v); max = v; }
            float d = max / -8f, id = d != 0 ? 1f / d : 0f;
            BinaryPrimitives.WriteHalfLittleEndian(o, (Half)d);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                int lo = Math.Min(15, (int)((double)block[j] * id + 8.5));
                int hi = Math.Min(15, (int)((double)block[j + BlockSize / 2] * id + 8.5));
                o[2 + j] = (byte)(lo | hi << 4);
            }
        }
    }

    /// <summary>The values a Q8_0 block stream stands for: d · qs[j].</summary>
    public static float[] DequantizeQ8_0(ReadOnlySpan<byte> blocks)
    {
        var x = new float[blocks.Length / Q8_0Bytes * BlockSize];
        for (int b = 0; b < x.Length / BlockSize; b++)
        {
            var o = blocks.Slice(b * Q8_0Bytes, Q8_0Bytes);
            float d = (float)BinaryPrimitives.ReadHalfLittleEndian(o);
            for (int j = 0; j < BlockSize; j++) x[b * BlockSize + j] = d * (sbyte)o[2 + j];
        }
        return x;
    }

    /// <summary>The values a Q4_0 block stream stands for: d · (q − 8).</summary>
    public static float[] DequantizeQ4_0(ReadOnlySpan<byte> blocks)
    {
        var x = new float[blocks.Length / Q4_0Bytes * BlockSize];
        for (int b = 0; b < x.Length / BlockSize; b++)
        {
            var o = blocks.Slice(b * Q4_0Bytes, Q4_0Bytes);
            float d = (float)BinaryPrimitives.ReadHalfLittleEndian(o);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                x[b * BlockSize + j] = d * ((o[2 + j] & 0xF) - 8);
                x[b * BlockSize + j + BlockSize / 2] = d * ((o[2 + j] >> 4) - 8);
            }
        }
        return x;
    }

    private static void CheckSizes(int elements, int bytes, int blockBytes)
    {
        if (elements % BlockSize != 0) throw new ArgumentException($"{elements} elements are not whole blocks of {BlockSize}");
        if (bytes != elements / BlockSize * blockBytes)
            throw new ArgumentException($"{elements} elements need {elements / BlockSize * blockBytes} bytes, the output has {bytes}");
    }
}
