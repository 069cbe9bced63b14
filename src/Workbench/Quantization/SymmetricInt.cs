namespace Workbench.Quantization;

/// <summary>
/// Symmetric absmax integers, the baselines of the QLoRA paper: a block's values are scaled by 1/absmax and
/// rounded to the nearest of k/qmax for k = −qmax…qmax (so 0 is exact and ±absmax are reached). Stored as the
/// index k + qmax: Int4 uses indices 0–14 of 16 (qmax = 7, index 15 unused), Int8 indices 0–254 (qmax = 127).
/// </summary>
public static class SymmetricInt
{
    public static readonly CodeBook Int4 = Create("int4", 7, 4);
    public static readonly CodeBook Int8 = Create("int8", 127, 8);

    private static CodeBook Create(string name, int qmax, int bits)
    {
        var values = new float[2 * qmax + 1];
        for (int k = -qmax; k <= qmax; k++) values[k + qmax] = (float)k / qmax;
        return new CodeBook(name, values, bits);
    }
}
