namespace Workbench.Engine;

public static partial class Ops
{
    /// <summary>
    /// Each row's log-probability of its target under the head: logp_n = log softmax(x·Wᵀ)[n, t_n] = z_{n,t_n} − lse_n,
    /// x [N, C], weight [V, C] (F32, or BF16/F16 when frozen), every target in [0, V) → [N] (what DPO and ORPO sum per
    /// sequence). Keeps the [N, V] logits z once, and backward turns them into their gradient in place:
    /// d logp_n / dz_nj = [j = t_n] − softmax_nj, so G_nj = −g_n·(softmax_nj − [j = t_n]), dx = G·W, dW = Gᵀ·x.
    /// Separately, Linear → LogSoftmax → gather would hold the logits, the log-softmax, the gathered gradient scattered
    /// back to [N, V] and the softmax's gradient: four [N, V] arrays instead of one.
    /// </summary>
    public static Tensor LinearLogProbs(Tensor x, Tensor weight, int[] targets)
    {
        const string op = "LinearLogProbs";
        var head = HeadWeight.Of(op, ref x, weight);
        int rows = x.Shape[0], vocab = head.Vocab;
        CountTargets(op, targets, rows, vocab, TargetlessRow);
        var logits = Tensor.Uninitialized(rows, vocab);                             // z [N, V]
        head.Logits(x.Span, rows, logits.Span);
        var lse = new float[rows];
        var losses = new double[rows];                                             // lse_n − z_{n,t_n}
        CrossEntropyKernel.RowLossesFast(logits.Span, targets, TargetlessRow, vocab, lse, losses);
        var y = Tensor.FromArray(Array.ConvertAll(losses, l => (float)-l), rows);
        if (!GradMode.Enabled || !(x.RequiresGrad || weight.RequiresGrad))
        {
            TensorPool.Release(logits);
            return y;
        }
        targets = (int[])targets.Clone();                                           // the caller may reuse its buffer before backward
        var xIn = x;
        return Autograd.Record(y, op, [x, weight], g =>
        {
            var up = g.Contiguous().ToArray();
            // G_n = −g_n·(softmax − onehot), in place of the logits
            CrossEntropyKernel.BackwardFast(logits.Span, targets, TargetlessRow, vocab, lse, n => -up[n], logits.Span);
            var dx = xIn.RequiresGrad ? Tensor.Uninitialized(rows, head.Width) : null;
            var dw = weight.RequiresGrad ? Tensor.Zeros(vocab, head.Width) : null;
            head.Backward(logits.Span, xIn.Span, rows, dx is null ? default : dx.Span, dw);
            TensorPool.Release(logits);
            return [dx, dw];
        });
    }

    /// <summary>An ignore index no target can equal: <see cref="LinearLogProbs"/> has no ignored rows.</summary>
    private const int TargetlessRow = int.MinValue;
}
