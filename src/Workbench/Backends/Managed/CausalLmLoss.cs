using Workbench.Data;
using Workbench.Engine;
using Workbench.Models;

namespace Workbench.Backends.Managed;

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

    /// <summary>
    /// Mean next-token loss of ids and labels [B, T]: a rank-0 tensor that records its graph when grad mode is on. Only
    /// the positions that carry a target go through the head (completion-only labels leave most of a batch without one,
    /// and the [V, C] head is the largest matrix of a small model); the loss is the same. A plain or tied head is fused
    /// with the loss (<see cref="CausalLMModule.HeadLoss"/>).
    /// </summary>
    public static Tensor Compute(CausalLMModule model, int[] inputIds, int[] labels, int batch, int seq)
    {
        var targets = ShiftLabels(labels, batch, seq);
        var hidden = model.HiddenStates(inputIds, batch, seq).Reshape(targets.Length, -1); // (B·T, C)
        var rows = Enumerable.Range(0, targets.Length).Where(i => targets[i] != TrainingExample.IgnoreIndex).ToArray();
        if (rows.Length == 0) return model.HeadLoss(hidden, targets);
        var picked = Ops.Embedding(hidden, rows);                                           // (N, C): the rows with a target
        return model.HeadLoss(picked, rows.Select(i => targets[i]).ToArray());
    }
}
