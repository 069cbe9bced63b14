namespace Workbench.Engine;

/// <summary>
/// Activation recomputation (gradient checkpointing): run a block without keeping its activations, and
/// run it again during backward to get them. Parameters captured inside the block still get gradients,
/// as with torch.utils.checkpoint(use_reentrant=False). The block must be deterministic (seed any dropout
/// from state it captures).
/// The block's temporaries come from a <see cref="TensorPool"/> scope, in forward and in the recomputation, and go
/// back to the pool when the block is done: only the output (forward) and the gradients of the inputs and the
/// parameters (backward) leave it.
/// </summary>
public static class Checkpoint
{
    public static Tensor Run(Func<Tensor[], Tensor> block, params Tensor[] inputs)
    {
        if (!GradMode.Enabled) return block(inputs);
        Tensor output;
        using (GradMode.NoGrad())
        using (TensorPool.Begin())
        {
            output = block(inputs);
            TensorPool.Escape(output);
        }
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
            using (TensorPool.Begin())
            {
                Tensor recomputed;
                using (GradMode.EnableGrad()) recomputed = block(detached);
                // leaves' gradients (the inputs', the parameters') escape the pool as they are first set
                if (recomputed.RequiresGrad) Autograd.Backward(recomputed, gradOutput);
            }
            var result = new Tensor?[recorded.Length];
            for (int i = 0; i < detached.Length; i++) result[i] = detached[i].Grad;
            return result;
        });
    }
}
