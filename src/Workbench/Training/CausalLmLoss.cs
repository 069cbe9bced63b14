using Workbench.Data;
using Workbench.Engine;
using Workbench.Models;

namespace Workbench.Training;

/// <summary>
/// The causal language-modelling loss of Hugging Face's <c>*ForCausalLM</c>: position t predicts token t+1,
/// i.e. cross-entropy of logits[:, :-1] against labels[:, 1:], mean over the targets that are not −100.
/// Rather than slicing the logits, the labels are shifted left and the last position of every row gets −100:
/// the same sum and count, without copying [B, T−1, V].
/// </summary>
public static class CausalLmLoss
{
    /// <summary>targets[b, t] = labels[b, t + 1] for t &lt; T − 1; targets[b, T − 1] = −100. Arrays are [B, T] row-major.</summary>
    public static int[] ShiftLabels(int[] labels, int batch, int seq)
    {
        var targets = new int[batch * seq];
        for (int b = 0; b < batch; b++)
        {
            Array.Copy(labels, b * seq + 1, targets, b * seq, seq - 1);
            targets[b * seq + seq - 1] = TrainingExample.IgnoreIndex;
        }
        return targets;
    }

    /// <summary>Positions that carry a loss after the shift.</summary>
    public static int TargetCount(Batch batch)
    {
        int n = 0;
        for (int b = 0; b < batch.BatchSize; b++)
            for (int t = 1; t < batch.Length; t++)
                if (batch.Labels[b * batch.Length + t] != TrainingExample.IgnoreIndex) n++;
        return n;
    }

    /// <summary>
    /// Mean next-token loss of one batch: a rank-0 tensor that records its graph when grad mode is on. Only the
    /// positions that carry a target go through the head (completion-only labels leave most of a batch without one,
    /// and the [V, C] head is the largest matrix of a small model); the loss is the same.
    /// </summary>
    public static Tensor Compute(ICausalLM model, Batch batch)
    {
        var targets = ShiftLabels(batch.Labels, batch.BatchSize, batch.Length);
        var hidden = model.HiddenStates(batch.InputIds, batch.BatchSize, batch.Length);     // (B, T, C)
        var rows = Enumerable.Range(0, targets.Length).Where(i => targets[i] != TrainingExample.IgnoreIndex).ToArray();
        if (rows.Length == 0) return Ops.CrossEntropy(model.LmHead(hidden), targets);
        var picked = Ops.Embedding(hidden.Reshape(targets.Length, -1), rows);               // (N, C): the rows with a target
        return Ops.CrossEntropy(model.LmHead(picked), rows.Select(i => targets[i]).ToArray());
    }

    /// <summary>Mean loss per target token over all batches (each batch's mean weighted by its target count), without gradients.</summary>
    public static double Mean(ICausalLM model, IEnumerable<Batch> batches)
    {
        using var _ = GradMode.NoGrad();
        double total = 0;
        long count = 0;
        foreach (var batch in batches)
        {
            int n = TargetCount(batch);
            if (n == 0) continue;
            total += (double)Compute(model, batch).Item() * n;
            count += n;
        }
        return count == 0 ? double.NaN : total / count;
    }
}
