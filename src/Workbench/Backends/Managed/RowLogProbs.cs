using Workbench.Data;
using Workbench.Engine;
using Workbench.Models;

namespace Workbench.Backends.Managed;

/// <summary>
/// The summed log-probability of each row's labelled tokens, what TRL's DPO and ORPO trainers compute from the logits
/// (<c>selective_log_softmax</c> of the shifted logits, masked, summed over the sequence). Like <see cref="CausalLmLoss"/>
/// only the positions that carry a target go through the head; their log-probabilities (<see cref="CausalLMModule.HeadLogProbs"/>,
/// the head fused with the log-softmax when it is one weight) are summed per row by a [B, N] indicator matrix, all with
/// recorded ops, so backward is automatic.
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
        int n = rows.Length, vocab = model.Config.VocabSize;
        foreach (var r in rows)
            if ((uint)targets[r] >= (uint)vocab)
                throw new ShapeException("RowLogProbs", $"label {targets[r]} at position {r + 1} is outside [0, {vocab})");
        var picked = Ops.Embedding(hidden.Reshape(targets.Length, -1), rows);                   // (N, C): the rows with a target
        var token = model.HeadLogProbs(picked, rows.Select(r => targets[r]).ToArray()).Reshape(n, 1);   // (N, 1)
        var owner = new float[batch * n];                                                       // (B, N): 1 where token i belongs to row b
        for (int i = 0; i < n; i++) owner[rows[i] / seq * n + i] = 1f;
        return Tensor.FromArray(owner, batch, n).MatMul(token).Reshape(batch);                  // (B)
    }
}
