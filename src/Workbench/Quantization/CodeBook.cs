namespace Workbench.Quantization;

/// <summary>
/// A table of code values in [-1, 1]: a value x in a block with absolute maximum m is stored as the index of
/// the code nearest to x/m, and read back as code[index]·m. 4-bit books have at most 16 codes (two indices
/// per byte); 8-bit books at most 256.
/// </summary>
public sealed class CodeBook
{
    public string Name { get; }
    public float[] Values { get; }
    public int Bits { get; }

    /// <summary>A 4-bit book's codes padded with zeros to 16: the decoder's lookup table.</summary>
    public float[] Table16 { get; }

    /// <summary>True when the codes ascend strictly, so the nearest one can be found by bisection.</summary>
    public bool IsAscending { get; }

    public CodeBook(string name, float[] values, int bits)
    {
        if (bits != 4 && bits != 8) throw new ArgumentException($"CodeBook {name}: {bits} bits; only 4 and 8 are supported");
        if (values.Length == 0 || values.Length > 1 << bits)
            throw new ArgumentException($"CodeBook {name}: {values.Length} codes do not fit {bits} bits");
        Name = name;
        Values = values;
        Bits = bits;
        Table16 = new float[16];
        values.AsSpan(0, Math.Min(16, values.Length)).CopyTo(Table16);
        IsAscending = true;
        for (int i = 1; i < values.Length; i++) IsAscending &= values[i - 1] < values[i];
    }

    /// <summary>
    /// The index of the code nearest to <paramref name="s"/>: argmin_k |s − code_k| in fp32, the first index on a
    /// tie and index 0 for NaN — exactly what torch.argmin does in bitsandbytes' reference backend.
    /// </summary>
    public int Nearest(float s)
    {
        int best = 0;
        float bestDistance = MathF.Abs(s - Values[0]);
        for (int k = 1; k < Values.Length; k++)
        {
            float d = MathF.Abs(s - Values[k]);
            if (d < bestDistance) { bestDistance = d; best = k; }
        }
        return best;
    }

    /// <summary>
    /// The same index as <see cref="Nearest"/> for an ascending book, by bisection: only the two codes that
    /// bracket s can be nearest (fp32 rounding of |s − c| is monotone), and a tie goes to the lower index.
    /// </summary>
    public int NearestAscending(float s)
    {
        var v = Values;
        if (float.IsNaN(s)) return 0;
        int lo = 0, hi = v.Length - 1;                // invariant: answer in [lo, hi]
        while (hi - lo > 1)
        {
            int mid = (lo + hi) >> 1;
            if (v[mid] <= s) lo = mid; else hi = mid;
        }
        return MathF.Abs(s - v[hi]) < MathF.Abs(s - v[lo]) ? hi : lo;
    }
}
