using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Workbench.Torch.Layers;

/// <summary>
/// y = x·Wᵀ for a frozen weight that is made when needed (dequantised from 4 bits, or widened from bf16) and not kept
/// for backward: backward makes it again for dx = dy·W, as bitsandbytes' MatMul4Bit does. Autograd would otherwise
/// hold every layer's float32 copy until backward reaches it (0.8 GB a layer of a 7B model under recomputation).
/// </summary>
public static class FrozenWeightLinear
{
    /// <summary>x (..., in) → (..., out) with W [out, in] from <paramref name="weight"/> (a fresh tensor each call).</summary>
    public static Tensor Apply(Func<Tensor> weight, Tensor x) =>
        x.requires_grad && is_grad_enabled() ? Function.apply(weight, x) : Linear(weight, x);

    /// <summary>x·Wᵀ, every temporary of making W freed at once (not left to an enclosing scope).</summary>
    private static Tensor Linear(Func<Tensor> weight, Tensor x)
    {
        using var scope = NewDisposeScope();
        return nn.functional.linear(x, weight()).MoveToOuterDisposeScope();
    }

    private sealed class Function : SingleTensorFunction<Function>
    {
        public override string Name => "FrozenWeightLinear";

        public override Tensor forward(AutogradContext ctx, params object[] vars)
        {
            var weight = (Func<Tensor>)vars[0];
            ctx.save_data("weight", weight);
            return Linear(weight, (Tensor)vars[1]);
        }

        public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
        {
            // Backward runs inside the caller's dispose scope: free W now, and hand dx to autograd outside any scope.
            using var scope = NewDisposeScope();
            var w = ((Func<Tensor>)ctx.get_data("weight"))();
            return [null!, gradOutput.matmul(w).DetachFromDisposeScope()];   // nothing for the weight function; dx = dy·W
        }
    }
}
