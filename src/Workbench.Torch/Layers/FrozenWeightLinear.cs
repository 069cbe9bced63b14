using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Workbench.Torch.Layers;

/// <summary>Rows [start, start + count) of a frozen weight W [out, in], made in the compute dtype (a fresh tensor).</summary>
public delegate Tensor WeightRows(long start, long count);

/// <summary>
/// y = x·Wᵀ for a frozen weight that is made when needed (dequantised from 4 bits, or widened from bf16), a block of
/// output rows at a time, and not kept for backward: backward makes each block again for dx = Σ dy[:, rows]·W[rows],
/// as bitsandbytes' MatMul4Bit makes the weight again. Autograd would otherwise hold every layer's float32 copy until
/// backward reaches it, and a whole float32 copy of a 7B model's head or MLP matrix is 0.2–0.5 GB at once.
/// </summary>
public static class FrozenWeightLinear
{
    /// <summary>Elements of W made at once (64 MiB of float32).</summary>
    public const long BlockElements = 1L << 24;

    /// <summary>Rows of W per block for rows of <paramref name="inFeatures"/> elements.</summary>
    public static long RowsPerBlock(long inFeatures) => Math.Max(1, BlockElements / inFeatures);

    /// <summary>x (..., in) → (..., out), W made <paramref name="rowsPerBlock"/> rows at a time.</summary>
    public static Tensor Apply(WeightRows weight, long outFeatures, long rowsPerBlock, Tensor x) =>
        x.requires_grad && is_grad_enabled() ? Function.apply(weight, outFeatures, rowsPerBlock, x) : Linear(weight, outFeatures, rowsPerBlock, x);

    private static IEnumerable<(long Start, long Count)> Blocks(long outFeatures, long rows)
    {
        for (long start = 0; start < outFeatures; start += rows) yield return (start, Math.Min(rows, outFeatures - start));
    }

    /// <summary>y[..., rows] = x·W[rows]ᵀ block by block, each block's temporaries freed at once.</summary>
    private static Tensor Linear(WeightRows weight, long outFeatures, long rowsPerBlock, Tensor x)
    {
        var parts = new List<Tensor>();
        foreach (var (start, count) in Blocks(outFeatures, rowsPerBlock))
        {
            using var scope = NewDisposeScope();
            parts.Add(nn.functional.linear(x, weight(start, count)).MoveToOuterDisposeScope());
        }
        if (parts.Count == 1) return parts[0];
        var y = cat(parts, -1);
        foreach (var p in parts) p.Dispose();
        return y;
    }

    private sealed class Function : SingleTensorFunction<Function>
    {
        public override string Name => "FrozenWeightLinear";

        public override Tensor forward(AutogradContext ctx, params object[] vars)
        {
            var (weight, outFeatures, rowsPerBlock) = ((WeightRows)vars[0], (long)vars[1], (long)vars[2]);
            ctx.save_data("weight", weight);
            ctx.save_data("blocks", (outFeatures, rowsPerBlock));
            return Linear(weight, outFeatures, rowsPerBlock, (Tensor)vars[3]);
        }

        public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
        {
            var weight = (WeightRows)ctx.get_data("weight");
            var (outFeatures, rowsPerBlock) = ((long, long))ctx.get_data("blocks");
            // Backward runs inside the caller's dispose scope: free each block now, and hand dx to autograd outside any scope.
            ReturnedGradients.DropEarlier();
            using var scope = NewDisposeScope();
            Tensor? dx = null;
            foreach (var (start, count) in Blocks(outFeatures, rowsPerBlock))
            {
                // each block's weight and temporaries freed before the next is made (else all of W at once)
                using var block = NewDisposeScope();
                // dx = Σ dy[..., rows]·W[rows]
                var part = gradOutput.narrow(-1, start, count).matmul(weight(start, count));
                if (dx is null) dx = part.MoveToOuterDisposeScope();
                else dx.add_(part);
            }
            return [null!, null!, null!, ReturnedGradients.Hand(dx!.DetachFromDisposeScope())];   // nothing for the weight function and its shape
        }
    }
}
