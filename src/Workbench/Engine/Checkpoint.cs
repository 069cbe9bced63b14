namespace Workbench.Engine;

/// <summary>
/// Activation recomputation (gradient checkpointing): run a block without keeping its activations, and
/// run it again during backward to get them. Parameters captured inside the block still get gradients,
/// as with torch.utils.checkpoint(use_reentrant=False). The block must be deterministic (seed any dropout
/// from state it captures).
/// </summary>
public static class Checkpoint
{
    public static Tensor Run(Func<Tensor[], Tensor> block, params Tensor[] inputs)
    {
        if (!GradMode.Enabled) return block(inputs);
        Tensor output;
        using (GradMode.NoGrad()) output = block(inputs);
        // A fresh view, so that recording never rewires a tensor the block merely passed through (an input, a parameter).
        output = new Tensor(output.Storage, output.Shape, output.Strides, output.Offset);

        // Always recorded: parameters inside the block may require grad even when the inputs do not.
        var anchor = new Tensor(new F32Storage([0f]), [1]) { RequiresGrad = true };
        var recorded = new Tensor[inputs.Length + 1];
        inputs.CopyTo(recorded, 0);
        recorded[^1] = anchor;
        return Autograd.Record(output, "Checkpoint", recorded, gradOutput =>
        {
            var detached = inputs.Select(x => { var d = x.Detach(); d.RequiresGrad = x.RequiresGrad; return d; }).ToArray();
            Tensor recomputed;
            using (GradMode.EnableGrad()) recomputed = block(detached);
            if (recomputed.RequiresGrad) Autograd.Backward(recomputed, gradOutput);
            var result = new Tensor?[recorded.Length];
            for (int i = 0; i < detached.Length; i++) result[i] = detached[i].Grad;
            return result;
        });
    }
}
