using System.Numerics.Tensors;

namespace Workbench.Engine;

public static partial class Ops
{
    /// <summary>
    /// Mean negative log-likelihood of <paramref name="targets"/> under softmax(logits), like torch's
    /// F.cross_entropy: logits [..., V] are read as N = numel/V rows, one target per row, rows whose target is
    /// <paramref name="ignoreIndex"/> left out of the sum and the count. All rows ignored: the loss is NaN
    /// (0/0, as torch) and the gradient zero. Returns a rank-0 scalar. Backward: (softmax − onehot)/count.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, int[] targets, int ignoreIndex = -100)
    {
        if (logits.Rank == 0 || logits.Shape[^1] == 0)
            throw new ShapeException("CrossEntropy", $"expects logits [..., V] with V > 0, got {Engine.Shape.Format(logits.Shape)}");
        int vocab = logits.Shape[^1], rows = (int)(logits.Numel / vocab);
        int count = CountTargets("CrossEntropy", targets, rows, vocab, ignoreIndex);

        var x = logits.Contiguous();                               // [N, V]
        var lse = new float[rows];                                 // [N]
        double total = CrossEntropyKernel.ForwardFast(x.Span, targets, ignoreIndex, vocab, lse);
        var loss = Tensor.FromArray([(float)(total / count)]);     // rank 0; NaN when count is 0
        targets = (int[])targets.Clone();                          // the caller may reuse its buffer before backward
        return Autograd.Record(loss, "CrossEntropy", [x], g =>
        {
            var dx = Tensor.Zeros((int[])x.Shape.Clone());
            if (count > 0) CrossEntropyKernel.BackwardFast(x.Span, targets, ignoreIndex, vocab, lse, g.Item() / count, dx.Span);
            return [dx];
        });
    }

    /// <summary>Rows whose target is not <paramref name="ignoreIndex"/>; a target outside [0, V) is an error.</summary>
    private static int CountTargets(string op, int[] targets, int rows, int vocab, int ignoreIndex)
    {
        if (targets.Length != rows)
            throw new ShapeException(op, $"{targets.Length} targets for {rows} rows");
        int count = 0;
        for (int n = 0; n < rows; n++)
        {
            if (targets[n] == ignoreIndex) continue;
            if ((uint)targets[n] >= (uint)vocab)
                throw new ShapeException(op, $"target {targets[n]} at row {n} is outside [0, {vocab}) and is not ignoreIndex {ignoreIndex}");
            count++;
        }
        return count;
    }
}

/// <summary>
/// Fused log-softmax + NLL over rows of length V. Forward returns Σ over kept rows of (lse_n − x[n, t_n]) and
/// fills lse; backward writes dx = scale·(softmax − onehot) for kept rows (ignored rows stay zero).
/// </summary>
public static class CrossEntropyKernel
{
    public static double ForwardReference(ReadOnlySpan<float> x, int[] targets, int ignoreIndex, int vocab, Span<float> lse)
    {
        double total = 0;
        for (int n = 0; n < targets.Length; n++)
        {
            var row = x.Slice(n * vocab, vocab);
            double max = double.NegativeInfinity, sum = 0;
            foreach (var v in row) max = Math.Max(max, v);
            // lse = max + log Σ_j exp(x_j − max)
            foreach (var v in row) sum += Math.Exp(v - max);
            lse[n] = (float)(max + Math.Log(sum));
            // loss_n = lse − x_target
            if (targets[n] != ignoreIndex) total += max + Math.Log(sum) - row[targets[n]];
        }
        return total;
    }

    public static void BackwardReference(ReadOnlySpan<float> x, int[] targets, int ignoreIndex, int vocab, ReadOnlySpan<float> lse, float scale, Span<float> dx)
    {
        for (int n = 0; n < targets.Length; n++)
        {
            if (targets[n] == ignoreIndex) continue;
            // dx_j = scale · (exp(x_j − lse) − [j = target])
            for (int j = 0; j < vocab; j++)
                dx[n * vocab + j] = scale * (MathF.Exp(x[n * vocab + j] - lse[n]) - (j == targets[n] ? 1f : 0f));
        }
    }

    /// <summary>TensorPrimitives over each row, rows across cores; per-row losses summed in order (deterministic).</summary>
    public static double ForwardFast(ReadOnlySpan<float> x, int[] targets, int ignoreIndex, int vocab, Span<float> lse)
    {
        var losses = new double[targets.Length];
        RowLossesFast(x, targets, ignoreIndex, vocab, lse, losses);
        double total = 0;
        foreach (var l in losses) total += l;
        return total;
    }

    /// <summary>Each row's lse_n and loss_n = lse_n − x[n, t_n] (0 for an ignored row), rows across cores.</summary>
    public static void RowLossesFast(ReadOnlySpan<float> x, int[] targets, int ignoreIndex, int vocab, Span<float> lse, Span<double> losses)
    {
        unsafe
        {
            fixed (float* px = x, pl = lse)
            fixed (double* pd = losses)
            {
                nint xp = (nint)px, lp = (nint)pl, dp = (nint)pd;
                Par.For(targets.Length, Math.Max(1, 32768 / vocab), (start, end) =>
                {
                    var shifted = new float[vocab];
                    for (int n = start; n < end; n++)
                    {
                        var row = new ReadOnlySpan<float>((float*)xp + (long)n * vocab, vocab);
                        float max = TensorPrimitives.Max(row);
                        TensorPrimitives.Subtract(row, max, shifted);
                        TensorPrimitives.Exp(shifted, shifted);
                        double rowLse = max + Math.Log(TensorPrimitives.Sum(shifted));
                        ((float*)lp)[n] = (float)rowLse;
                        ((double*)dp)[n] = targets[n] != ignoreIndex ? rowLse - row[targets[n]] : 0;
                    }
                });
            }
        }
    }

    public static void BackwardFast(ReadOnlySpan<float> x, int[] targets, int ignoreIndex, int vocab, ReadOnlySpan<float> lse, float scale, Span<float> dx) =>
        BackwardFast(x, targets, ignoreIndex, vocab, lse, _ => scale, dx);

    /// <summary>dx_n = scale_n·(softmax − onehot) with a scale per row (an upstream gradient per row, as log-probabilities get).</summary>
    public static void BackwardFast(ReadOnlySpan<float> x, int[] targets, int ignoreIndex, int vocab, ReadOnlySpan<float> lse, Func<int, float> scaleOf, Span<float> dx)
    {
        unsafe
        {
            fixed (float* px = x, pl = lse, pd = dx)
            {
                nint xp = (nint)px, lp = (nint)pl, dp = (nint)pd;
                Par.For(targets.Length, Math.Max(1, 32768 / vocab), (start, end) =>
                {
                    for (int n = start; n < end; n++)
                    {
                        if (targets[n] == ignoreIndex) continue;
                        var row = new ReadOnlySpan<float>((float*)xp + (long)n * vocab, vocab);
                        var grad = new Span<float>((float*)dp + (long)n * vocab, vocab);
                        TensorPrimitives.Subtract(row, ((float*)lp)[n], grad);
                        TensorPrimitives.Exp(grad, grad);
                        float scale = scaleOf(n);
                        TensorPrimitives.Multiply(grad, scale, grad);
                        grad[targets[n]] -= scale;
                    }
                });
            }
        }
    }
}
