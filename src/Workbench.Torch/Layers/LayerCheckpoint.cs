using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Workbench.Torch.Layers;

/// <summary>
/// Activation recomputation (torch.utils.checkpoint): a layer runs without recording its graph and keeps only its
/// input; backward runs it again with the graph on and takes the gradients of the input and of the layer's trainable
/// parameters from that. The parameters are inputs of the node so that it is part of the graph even when the input
/// itself needs no gradient (a frozen embedding under LoRA). Whatever the layer draws (dropout masks) must be a
/// function of its settings, not of how often it runs.
/// </summary>
public static class LayerCheckpoint
{
    /// <summary>y = layer(x), recomputed in backward; <paramref name="trainable"/> are the parameters inside the layer that need gradients.</summary>
    public static Tensor Run(Func<Tensor, Tensor> layer, Tensor x, IEnumerable<Tensor> trainable)
    {
        var inputs = new List<object> { layer, x };
        inputs.AddRange(trainable);
        return Recompute.apply([.. inputs]);
    }

    private sealed class Recompute : SingleTensorFunction<Recompute>
    {
        public override string Name => "LayerCheckpoint";

        public override Tensor forward(AutogradContext ctx, params object[] vars)
        {
            var layer = (Func<Tensor, Tensor>)vars[0];
            var x = (Tensor)vars[1];
            ctx.save_data("layer", layer);
            ctx.save_data("parameters", vars.Skip(2).Cast<Tensor>().ToList());
            ctx.save_for_backward([x]);
            using var _ = no_grad();
            return layer(x);
        }

        public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
        {
            var layer = (Func<Tensor, Tensor>)ctx.get_data("layer");
            var parameters = (List<Tensor>)ctx.get_data("parameters");
            // Backward runs inside the caller's dispose scope: the recomputed graph's tensors are freed here, and the
            // gradients handed to autograd outside any scope.
            ReturnedGradients.DropEarlier();
            using var scope = NewDisposeScope();
            var saved = ctx.get_saved_variables()[0];
            using var grad = enable_grad();
            var x = saved.detach().requires_grad_(true);
            var y = layer(x);
            var wrt = new List<Tensor> { x };
            wrt.AddRange(parameters);
            var grads = torch.autograd.grad([y], wrt, [gradOutput], allow_unused: true);
            // one entry per argument of forward: none for the layer itself, then x and each parameter
            return [null!, .. grads.Select((g, i) => ReturnedGradients.Hand((g is null || g.IsInvalid ? zeros_like(wrt[i]) : g).DetachFromDisposeScope()))];
        }
    }
}
