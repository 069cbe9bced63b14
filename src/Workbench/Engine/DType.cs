namespace Workbench.Engine;

/// <summary>Storage element types. Compute is always fp32; other types are widened when read.</summary>
public enum DType { F32, F16, BF16, I8, U8, I32 }

public static class DTypeInfo
{
    public static int SizeOf(DType t) => t switch
    {
        DType.F32 or DType.I32 => 4,
        DType.F16 or DType.BF16 => 2,
        DType.I8 or DType.U8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown dtype"),
    };

    /// <summary>bf16 is the top half of an fp32: widen by shifting left 16 bits.</summary>
    public static float BF16ToFloat(ushort b) => BitConverter.Int32BitsToSingle(b << 16);

    /// <summary>fp32 → bf16 with round-to-nearest-even (as torch does); NaN stays a quiet NaN.</summary>
    public static ushort FloatToBF16(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return (ushort)((bits >> 16) | 0x40);
        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }
}
