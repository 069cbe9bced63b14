using Workbench.Data;
using Workbench.Engine;
using Workbench.Models;

namespace Workbench.Backends.Managed;

/// <summary>
/// The summed log-probability of each row's labelled tokens, what TRL's DPO and ORPO trainers compute from the logits
/// (<c>selective_log_softmax</c> of the shifted logits, masked, summed over the sequence). Like <see cref="CausalLmLoss"/>
/// only the positions that carry a target go through the head; the per-token log-probabilities are gathered from the
/// log-softmax and summed per row by a [B, N] indicator matrix, all with recorded ops, so backward is automatic.
/// </summary>
public static class RowLogProbs
{
    /// <summary>
    /// ids and labels [B, T] → logp [B], logp_b = Σ_{t : labels[b, t] ≠ −100} log softmax(logits[b, t − 1])[labels[b, t]];
    /// a rank-1 tensor that records its graph when grad mode is on. A batch with no target gives zeros and no graph.
    /// </summary>
    public static Tensor Compute(CausalLMModule model, int[] inputIds, int[] labels, int batch, int seq)
    {
        var targets = CausalLmLoss.ShiftLabels(labels, batch, seq);
        var rows = Enumerable.Range(0, targets.Length).Where(i => targets[i] != TrainingExample.IgnoreIndex).ToArray();
        if (rows.Length == 0) return Tensor.Zeros(batch);
        var hidden = model.HiddenStates(inputIds, batch, seq);                                 // (B, T, C)
        var picked = Ops.Embedding(hidden.Reshape(targets.Length, -1), rows);                   // (N, C): the rows with a target
        var logp = Ops.LogSoftmax(model.LmHead(picked));                                        // (N, V)
        int n = rows.Length, vocab = logp.Shape[^1];
        for (int i = 0; i < n; i++)
            if ((uint)targets[rows[i]] >= (uint)vocab)
                throw new ShapeException("RowLogProbs", $"label {targets[rows[i]]} at position {rows[i] + 1} is outside [0, {vocab})");
        var token = Ops.Embedding(logp.Reshape(n * vocab, 1), rows.Select((r, i) => i * vocab + targets[r]).ToArray());   // (N, 1)
        var owner = new float[batch * n];                                                       // (B, N): 1 where token i belongs to row b
        for (int i = 0; i < n; i++) owner[rows[i] / seq * n + i] = 1f;
        return Tensor.FromArray(owner, batch, n).MatMul(token).Reshape(batch);                  // (B)
    }
}
