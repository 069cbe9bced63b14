namespace Workbench.Engine;

/// <summary>The <c>rope_scaling</c> kinds of transformers that change the inverse frequencies once, at load.</summary>
public enum RopeScalingType
{
    /// <summary>inv_freq as is (also transformers' "dynamic" NTK below max_position_embeddings, all a cache holds).</summary>
    None,
    /// <summary>Position interpolation: inv_freq / factor.</summary>
    Linear,
    /// <summary>Llama 3.1: long wavelengths / factor, short ones kept, a smooth blend between.</summary>
    Llama3,
}

/// <summary>
/// How a model's <c>rope_scaling</c> stretches RoPE's inverse frequencies (transformers modeling_rope_utils).
/// Computed in float32, as transformers does, so the tables round the same way.
/// </summary>
public sealed record RopeScaling(RopeScalingType Type, float Factor = 1f, float LowFreqFactor = 1f,
    float HighFreqFactor = 4f, int OriginalMaxPositions = 8192)
{
    public static readonly RopeScaling None = new(RopeScalingType.None);

    /// <summary>One line for people: "none", "linear ×4", "llama3 ×8 (original 8192 positions, low 1, high 4)".</summary>
    public string Describe() => Type switch
    {
        RopeScalingType.Linear => FormattableString.Invariant($"linear ×{Factor:G}"),
        RopeScalingType.Llama3 => FormattableString.Invariant(
            $"llama3 ×{Factor:G} (original {OriginalMaxPositions} positions, low {LowFreqFactor:G}, high {HighFreqFactor:G})"),
        _ => "none",
    };

    /// <summary>The scaled inverse frequencies (a new array; <paramref name="invFreq"/> is not changed).</summary>
    public float[] Apply(ReadOnlySpan<float> invFreq)
    {
        var scaled = invFreq.ToArray();
        switch (Type)
        {
            case RopeScalingType.Linear:
                for (int i = 0; i < scaled.Length; i++) scaled[i] /= Factor;
                break;
            case RopeScalingType.Llama3:
                // wavelen = 2π / f.  wavelen < L/high: f;  wavelen > L/low: f / factor;
                // between: (1 − s)·f/factor + s·f with s = (L / wavelen − low) / (high − low), L = original context.
                // A number over a tensor is reciprocal × number in PyTorch: written so, it rounds the same.
                float lowFreqWavelen = OriginalMaxPositions / LowFreqFactor, highFreqWavelen = OriginalMaxPositions / HighFreqFactor;
                for (int i = 0; i < scaled.Length; i++)
                {
                    float f = scaled[i], wavelen = 1f / f * (float)(2 * Math.PI);
                    if (wavelen > lowFreqWavelen) scaled[i] = f / Factor;
                    else if (wavelen >= highFreqWavelen)
                    {
                        float s = (1f / wavelen * OriginalMaxPositions - LowFreqFactor) / (HighFreqFactor - LowFreqFactor);
                        scaled[i] = (1 - s) * f / Factor + s * f;
                    }
                }
                break;
        }
        return scaled;
    }
}
