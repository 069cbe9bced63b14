namespace Workbench.Quantization;

/// <summary>
/// bitsandbytes' 8-bit "dynamic" code books (Dettmers 2015, "8-bit approximations for parallelism"). Each value
/// is 10^e · f: a decimal exponent e from −6 to 0 and a linear fraction f in (0.1, 1) whose resolution grows as
/// the exponent grows, plus 0 and 1. The signed map (1, 2, 4, …, 64 fractions per exponent, mirrored for
/// negatives) stores double-quantised absmax constants and the first Adam moment; the unsigned map (2, 4, …, 128
/// fractions, no negatives: the bit that held the sign buys resolution) stores the second moment.
/// </summary>
public static class DynamicMap
{
    public static readonly CodeBook Signed = new("dynamic", Create(signed: true), 8);
    public static readonly CodeBook Unsigned = new("udynamic", Create(signed: false), 8);

    /// <summary>
    /// create_dynamic_map(signed, max_exponent_bits=7, total_bits=8): for exponent i = 0…6 the fractions are the
    /// midpoints of torch.linspace(0.1, 1, k + 1) (fp32) with k = 2^i signed or 2^(i+1) unsigned, scaled by
    /// 10^(i−6) in fp32, with both signs when signed; then 0 and 1.0 are appended and all 256 values sorted
    /// (127 + 127 + 2 or 254 + 2 = 256: no unused slots).
    /// </summary>
    public static float[] Create(bool signed = true)
    {
        var data = new List<float>(256);
        for (int i = 0; i < 7; i++)
        {
            var edges = TorchLinspace.Create(0.1f, 1f, (signed ? 1 << i : 1 << (i + 1)) + 1);
            float scale = (float)Math.Pow(10, i - 6);
            for (int j = 0; j + 1 < edges.Length; j++)
            {
                // f_j = (edge_j + edge_{j+1}) / 2, value = ±10^(i−6)·f_j
                float mid = (edges[j] + edges[j + 1]) / 2f;
                data.Add(scale * mid);
                if (signed) data.Add(-scale * mid);
            }
        }
        data.Add(0f);
        data.Add(1f);
        data.Sort();
        return data.ToArray();
    }
}
