namespace Workbench.Quantization;

/// <summary>
/// bitsandbytes' 4-bit float, e2m1: bit 3 is the sign, bits 2–1 the exponent, bit 0 the mantissa, with an
/// exponent bias that makes the largest magnitude 12 (0b011) and a subnormal 0.0625 (0b001). Divided by 12
/// into [-1, 1]. The index order follows the bit patterns, not the values, so the table is not sorted.
/// </summary>
public static class Fp4
{
    /// <summary>Magnitudes of bit patterns 0b000…0b111: 0, 0.0625, 8, 12, 4, 6, 2, 3.</summary>
    public static readonly float[] RawMagnitudes = [0f, 0.0625f, 8f, 12f, 4f, 6f, 2f, 3f];

    /// <summary>
    /// Index i &lt; 8: RawMagnitudes[i]/12; index 8 + i: −RawMagnitudes[i]/12. Index 8 is +0.0, not −0.0: bitsandbytes'
    /// get_4bit_type("fp4") lists the Python integer -0, which is 0. (Its CPU backend keeps a copy rounded to four
    /// decimals, 0.0052 for 1/192; we use the exact quotients, which is what it saves as quant_map.)
    /// </summary>
    public static readonly float[] Codes = CreateCodes();

    public static readonly CodeBook Book = new("fp4", Codes, 4);

    private static float[] CreateCodes()
    {
        var codes = new float[16];
        for (int i = 0; i < 8; i++)
        {
            codes[i] = RawMagnitudes[i] / 12f;
            codes[8 + i] = i == 0 ? 0f : -RawMagnitudes[i] / 12f;
        }
        return codes;
    }
}
