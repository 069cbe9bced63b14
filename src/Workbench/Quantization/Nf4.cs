namespace Workbench.Quantization;

/// <summary>
/// NormalFloat4 (QLoRA, Dettmers et al. 2023): 16 codes placed at quantiles of N(0, 1), so that a normally
/// distributed weight block fills each bin about equally, scaled into [-1, 1]. Asymmetric: 8 positive codes,
/// 7 negative ones and an exact zero.
/// </summary>
public static class Nf4
{
    /// <summary>bitsandbytes' NF4 table (functional.get_4bit_type("nf4")), index 0–15, as fp32.</summary>
    public static readonly float[] Codes =
    [
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    ];

    public static readonly CodeBook Book = new("nf4", Codes, 4);

    /// <summary>The offset bitsandbytes uses: the outermost quantile, ½(1/(2·15) + 1 − 1/(2·16)) ≈ 0.9677.</summary>
    public const float DefaultOffset = 0.9677083f;

    /// <summary>
    /// The table rebuilt from its definition (bitsandbytes create_normal_map(offset, use_extra_value=True)):
    /// 8 positive codes Φ⁻¹(p) for p = linspace(offset, 0.5, 9)[:-1], 7 negative codes −Φ⁻¹(p) for
    /// p = linspace(offset, 0.5, 8)[:-1], and 0; rounded to fp32, sorted, and divided by the largest.
    /// The probabilities are fp32 torch.linspace values, as in bitsandbytes.
    /// </summary>
    public static float[] CreateNormalMap(float offset = DefaultOffset)
    {
        var values = new List<float> { 0f };
        var positive = TorchLinspace.Create(offset, 0.5f, 9);
        for (int i = 0; i < 8; i++) values.Add((float)NormalDistribution.InverseCdf(positive[i]));
        var negative = TorchLinspace.Create(offset, 0.5f, 8);
        for (int i = 0; i < 7; i++) values.Add((float)-NormalDistribution.InverseCdf(negative[i]));
        values.Sort();
        float max = values[^1];
        return values.Select(v => v / max).ToArray();
    }
}
