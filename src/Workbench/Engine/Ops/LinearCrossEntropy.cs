namespace Workbench.Engine;

public static partial class Ops
{
    /// <summary>
    /// Largest logits block (floats) <see cref="LinearCrossEntropy"/> holds at once: 128 MiB, 1,048 rows of a 32,000
    /// vocabulary. Every chunk packs the whole head for its two GEMMs, so thinner chunks cost time: two chunks of 512
    /// rows made the LoRA bench step (1,024 rows) ~2 % slower than one.
    /// </summary>
    public const long LinearCrossEntropyChunkFloats = 1L << 25;

    /// <summary>
    /// CrossEntropy(Linear(x, weight), targets) without the [N, V] logits: x [N, C], weight [V, C] (F32, or BF16/F16
    /// when frozen) → the rank-0 mean loss, the same value as the two ops, bit for bit. The rows go through in chunks
    /// of at most <see cref="LinearCrossEntropyChunkFloats"/> logits; with grad on, each chunk's logits become their
    /// gradient in place and are multiplied out at once (dx rows, dW summed over chunks), so one chunk of logits is
    /// alive at any time, not the logits plus their gradient (2·N·V floats: 8.4 GB for a 128k vocabulary at
    /// 4 × 2048 tokens). Backward scales what the forward kept by the upstream gradient: with 1 (a plain
    /// loss.Backward()) dx equals the unfused ops' bit for bit.
    /// </summary>
    public static Tensor LinearCrossEntropy(Tensor x, Tensor weight, int[] targets, int ignoreIndex = -100) =>
        LinearCrossEntropy(x, weight, targets, ignoreIndex, LinearCrossEntropyChunkFloats);

    internal static Tensor LinearCrossEntropy(Tensor x, Tensor weight, int[] targets, int ignoreIndex, long chunkFloats)
    {
        const string op = "LinearCrossEntropy";
        var head = HeadWeight.Of(op, ref x, weight);
        int rows = x.Shape[0], width = head.Width, vocab = head.Vocab;
        int count = CountTargets(op, targets, rows, vocab, ignoreIndex);
        bool grad = GradMode.Enabled && (x.RequiresGrad || weight.RequiresGrad);

        var losses = new double[rows];                                               // per row, summed in row order as CrossEntropy does
        var dx = grad && x.RequiresGrad ? Tensor.Uninitialized(rows, width) : null; // [N, C]
        var dw = grad && weight.RequiresGrad ? Tensor.Zeros(vocab, width) : null;    // [V, C]
        float scale = 1f / count;                                                    // CrossEntropy's backward scale for an upstream 1
        int chunks = LinearCrossEntropyChunks(rows, vocab, chunkFloats);
        var buffer = Tensor.Uninitialized((rows + chunks - 1) / chunks, vocab);     // one chunk's logits, reused by every chunk
        for (int c = 0; c < chunks; c++)
        {
            int r0 = (int)((long)rows * c / chunks), r1 = (int)((long)rows * (c + 1) / chunks), n = r1 - r0;
            var xs = x.Span.Slice(r0 * width, n * width);
            var chunkTargets = targets[r0..r1];
            var logits = buffer.Span[..(n * vocab)];                                 // [n, V]
            var dxs = dx is null ? default : dx.Span.Slice(r0 * width, n * width);  // [n, C]
            head.Logits(xs, n, logits);
            var lse = new float[n];
            CrossEntropyKernel.RowLossesFast(logits, chunkTargets, ignoreIndex, vocab, lse, losses.AsSpan(r0, n));
            if (grad && count > 0)
            {
                // G = (softmax − onehot)/count in place of the logits; ignored rows contribute nothing
                CrossEntropyKernel.BackwardFast(logits, chunkTargets, ignoreIndex, vocab, lse, scale, logits);
                for (int i = 0; i < n; i++)
                    if (chunkTargets[i] == ignoreIndex) logits.Slice(i * vocab, vocab).Clear();
                head.Backward(logits, xs, n, dxs, dw);
            }
            else dxs.Clear();
        }
        TensorPool.Release(buffer);
        double total = 0;
        foreach (var l in losses) total += l;
        var loss = Tensor.FromArray([(float)(total / count)]);                      // rank 0; NaN when count is 0
        if (!grad) return loss;
        return Autograd.Record(loss, op, [x, weight], g =>
        {
            // d/dθ (g·loss) = g · (what the forward kept)
            float up = g.Item();
            if (up != 1f)
            {
                if (dx is not null) System.Numerics.Tensors.TensorPrimitives.Multiply(dx.Span, up, dx.Span);
                if (dw is not null) System.Numerics.Tensors.TensorPrimitives.Multiply(dw.Span, up, dw.Span);
            }
            return [dx, dw];
        });
    }

    /// <summary>
    /// How many equal row chunks <see cref="LinearCrossEntropy"/> cuts N rows into: enough to keep a chunk's logits within
    /// <paramref name="chunkFloats"/>, but none thin enough for the GEMM's skinny path (it sums in another order than the
    /// unfused product). A chunk holds at most ⌈N / chunks⌉ rows.
    /// </summary>
    public static int LinearCrossEntropyChunks(int rows, int vocab, long chunkFloats = LinearCrossEntropyChunkFloats) =>
        (int)Math.Min(Math.Max(1, rows / (GemmSkinny.MaxSide + 1)), Math.Max(1, ((long)rows * vocab + chunkFloats - 1) / chunkFloats));
}
