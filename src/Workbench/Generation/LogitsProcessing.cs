using System.Numerics.Tensors;

namespace Workbench.Generation;

/// <summary>
/// transformers' logits processors on one row of scores [V], in the order generate() applies them: repetition
/// penalty, then (sampling only) temperature, top-k and top-p. Removed tokens get −∞.
/// </summary>
public static class LogitsProcessing
{
    /// <summary>Every token in <paramref name="previous"/> (once, however often it occurs): s / penalty if s &gt; 0, s · penalty otherwise.</summary>
    public static void RepetitionPenalty(Span<float> scores, IEnumerable<int> previous, float penalty)
    {
        if (penalty == 1f) return;
        foreach (var id in previous.Distinct())
            scores[id] = scores[id] < 0 ? scores[id] * penalty : scores[id] / penalty;
    }

    /// <summary>s / T.</summary>
    public static void Temperature(Span<float> scores, float temperature)
    {
        if (temperature != 1f) TensorPrimitives.Divide(scores, temperature, scores);
    }

    /// <summary>Keeps the scores ≥ the k-th largest (ties at the threshold stay, as in TopKLogitsWarper); k = 0 keeps all.</summary>
    public static void TopK(Span<float> scores, int k)
    {
        if (k <= 0 || k >= scores.Length) return;
        var sorted = scores.ToArray();
        Array.Sort(sorted);
        float threshold = sorted[^k];
        foreach (ref var s in scores) if (s < threshold) s = float.NegativeInfinity;
    }

    /// <summary>
    /// Nucleus filter (TopPLogitsWarper): sort ascending, p = softmax, c = cumsum(p); remove the tokens with
    /// c ≤ 1 − top_p, always keeping the most likely one. top_p = 1 keeps all.
    /// </summary>
    public static void TopP(Span<float> scores, float topP)
    {
        if (topP >= 1f) return;
        var order = Enumerable.Range(0, scores.Length).ToArray();
        var sorted = scores.ToArray();
        Array.Sort(sorted, order);                                     // ascending, order[i] = token of sorted[i]
        var probabilities = Softmax(sorted);
        // float32 cumsum compared with (1 − top_p) as float32, as torch does
        float cut = (float)(1.0 - topP), cumulative = 0;
        for (int i = 0; i < sorted.Length - 1; i++)
        {
            cumulative += probabilities[i];
            if (cumulative <= cut) scores[order[i]] = float.NegativeInfinity;
        }
    }

    /// <summary>softmax(s) in float; −∞ gives 0.</summary>
    public static float[] Softmax(ReadOnlySpan<float> scores)
    {
        var p = new float[scores.Length];
        float max = TensorPrimitives.Max(scores);
        // p_i = exp(s_i − max) / Σ_j exp(s_j − max)
        TensorPrimitives.Subtract(scores, max, p);
        TensorPrimitives.Exp(p, p);
        TensorPrimitives.Divide(p, TensorPrimitives.Sum(p), p);
        return p;
    }

    /// <summary>The first index of the largest score (torch.argmax).</summary>
    public static int ArgMax(ReadOnlySpan<float> scores) => TensorPrimitives.IndexOfMax(scores);

    /// <summary>A token drawn from softmax(scores) with u ~ U[0, 1) from <paramref name="rng"/>.</summary>
    public static int Sample(ReadOnlySpan<float> scores, Random rng)
    {
        var p = Softmax(scores);
        double u = rng.NextDouble(), cumulative = 0;
        int last = 0;
        for (int i = 0; i < p.Length; i++)
        {
            if (p[i] == 0) continue;
            last = i;
            cumulative += p[i];
            if (u < cumulative) return i;
        }
        return last;                                                   // rounding left u above the total
    }
}
