using System.Numerics.Tensors;

namespace Workbench.Engine.Optim;

/// <summary>Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_ (L2, error_if_nonfinite off).</summary>
public static class GradClip
{
    /// <summary>
    /// total = ‖(‖g₁‖, ‖g₂‖, …)‖₂ over parameters with a gradient; every gradient is scaled in place by
    /// min(1, maxNorm / (total + 1e-6)). Returns the norm before clipping.
    /// </summary>
    public static float ClipGradNorm(IEnumerable<Tensor> parameters, float maxNorm)
    {
        var grads = parameters.Where(p => p.Grad is not null).Select(p => p.Grad!).ToList();
        double sumSquares = 0;
        foreach (var g in grads)
        {
            g.RequireF32("ClipGradNorm");
            float norm = TensorPrimitives.Norm(g.Span);
            sumSquares += (double)norm * norm;
        }
        float total = (float)Math.Sqrt(sumSquares);
        // coef = min(1, maxNorm / (total + 1e-6))
        float coef = Math.Min(1f, maxNorm / (total + 1e-6f));
        foreach (var g in grads) TensorPrimitives.Multiply(g.Span, coef, g.Span);
        return total;
    }
}
