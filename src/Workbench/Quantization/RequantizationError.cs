using Workbench.Engine;

namespace Workbench.Quantization;

/// <summary>
/// What re-quantising a weight would cost: after a QLoRA merge (W' = dequant(W₄) + s·B·A) the merged weight no
/// longer sits on the 4-bit grid, so storing it again in 4 bits rounds it. Reports |Q(W') − W'| over all
/// elements (mean and max) and the mean |W'| for scale, with the same type, block size and double quantisation
/// as the original layer.
/// </summary>
public sealed record RequantizationError(string Name, long Count, double MeanAbs, double MaxAbs, double MeanAbsWeight)
{
    /// <summary>Mean error relative to the mean magnitude of the weight.</summary>
    public double Relative => MeanAbsWeight == 0 ? 0 : MeanAbs / MeanAbsWeight;

    /// <summary>The rounding error of quantising <paramref name="merged"/> [out, in] like <paramref name="like"/>.</summary>
    public static RequantizationError Measure(string name, Tensor merged, QuantizedTensor like)
    {
        var requantized = QuantizedTensor.Quantize(merged, like.Type, like.BlockSize, like.Nested is not null);
        var w = merged.Contiguous().Span;
        var q = requantized.Dequantize().Span;
        double sum = 0, max = 0, magnitude = 0;
        for (int i = 0; i < w.Length; i++)
        {
            // e_i = |Q(w)_i − w_i|
            double e = Math.Abs((double)q[i] - w[i]);
            sum += e;
            max = Math.Max(max, e);
            magnitude += Math.Abs(w[i]);
        }
        return new RequantizationError(name, w.Length, sum / w.Length, max, magnitude / w.Length);
    }

    /// <summary>Several layers as one: element-weighted means, the largest maximum.</summary>
    public static RequantizationError Combine(string name, IReadOnlyCollection<RequantizationError> parts)
    {
        long count = parts.Sum(p => p.Count);
        return new RequantizationError(name, count,
            parts.Sum(p => p.MeanAbs * p.Count) / count,
            parts.Max(p => p.MaxAbs),
            parts.Sum(p => p.MeanAbsWeight * p.Count) / count);
    }
}
