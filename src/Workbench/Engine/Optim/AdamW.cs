using System.Runtime.Intrinsics;

namespace Workbench.Engine.Optim;

/// <summary>
/// AdamW as torch.optim.AdamW (amsgrad off): per step, for every parameter that has a gradient,
/// p ← p·(1 − lr·wd); m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²;
/// p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).
/// One step counter for all parameters (torch keeps one per parameter; they differ only for a parameter
/// that had no gradient on some step). Moments are fp32 buffers of each parameter's shape, exposed for
/// checkpoints.
/// </summary>
public sealed class AdamW : IOptimizer
{
    private readonly Tensor[] parameters;

    public float Lr { get; set; }
    public float Beta1 { get; }
    public float Beta2 { get; }
    public float Eps { get; }
    public float WeightDecay { get; }

    /// <summary>Steps taken so far (t in the bias corrections); set it when restoring a checkpoint.</summary>
    public int StepCount { get; set; }

    public IReadOnlyList<Tensor> Parameters => parameters;
    /// <summary>First moments m, one per parameter, same order and shape.</summary>
    public IReadOnlyList<Tensor> ExpAvg { get; }
    /// <summary>Second moments v, one per parameter, same order and shape.</summary>
    public IReadOnlyList<Tensor> ExpAvgSq { get; }

    public long StateBytes => 8 * parameters.Sum(p => p.Numel);

    public AdamW(IReadOnlyList<Tensor> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0.01f)
    {
        this.parameters = OptimizerParameters.Validate(parameters, "AdamW");
        (Lr, Beta1, Beta2, Eps, WeightDecay) = (lr, beta1, beta2, eps, weightDecay);
        ExpAvg = this.parameters.Select(p => Tensor.Zeros((int[])p.Shape.Clone())).ToArray();
        ExpAvgSq = this.parameters.Select(p => Tensor.Zeros((int[])p.Shape.Clone())).ToArray();
    }

    /// <summary>One update of every parameter whose Grad is set; parameters without a gradient are left alone.</summary>
    public void Step()
    {
        StepCount++;
        var h = AdamWKernel.Hyper.At(Lr, WeightDecay, Beta1, Beta2, Eps, StepCount);
        for (int i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            if (p.Grad is null) continue;
            if (!Engine.Shape.SameShape(p.Grad.Shape, p.Shape))
                throw new ShapeException("AdamW", $"gradient {Engine.Shape.Format(p.Grad.Shape)} for parameter {p}");
            var g = p.Grad.Contiguous();
            AdamWKernel.Fast(g.Span, h, p.Span, ExpAvg[i].Span, ExpAvgSq[i].Span);
        }
    }

    /// <summary>Drops every gradient (torch's zero_grad(set_to_none=True)); the next backward starts fresh.</summary>
    public void ZeroGrad()
    {
        foreach (var p in parameters) p.Grad = null;
    }
}

/// <summary>The AdamW element update: sources (grad, hyper-parameters), then the state it updates in place.</summary>
public static class AdamWKernel
{
    public readonly record struct Hyper(float Decay, float Beta1, float Beta2, float StepSize, float Bias2Sqrt, float Eps)
    {
        /// <summary>
        /// The update's scalars at step t, in double as torch computes them in Python, then used as float32:
        /// decay 1 − lr·wd, step size lr / (1 − β₁ᵗ), √(1 − β₂ᵗ).
        /// </summary>
        public static Hyper At(double lr, double weightDecay, float beta1, float beta2, float eps, long step) => new(
            Decay: (float)(1 - lr * weightDecay),
            Beta1: beta1, Beta2: beta2,
            StepSize: (float)(lr / (1 - Math.Pow(beta1, step))),
            Bias2Sqrt: (float)Math.Sqrt(1 - Math.Pow(beta2, step)),
            Eps: eps);
    }

    public static void Reference(ReadOnlySpan<float> g, Hyper h, Span<float> p, Span<float> m, Span<float> v)
    {
        for (int i = 0; i < p.Length; i++)
        {
            // m = β₁m + (1 − β₁)g ; v = β₂v + (1 − β₂)g² ; p = p·decay − stepSize·m / (√v / √bc₂ + ε)
            m[i] = m[i] * h.Beta1 + (1 - h.Beta1) * g[i];
            v[i] = v[i] * h.Beta2 + (1 - h.Beta2) * g[i] * g[i];
            float denom = MathF.Sqrt(v[i]) / h.Bias2Sqrt + h.Eps;
            p[i] = p[i] * h.Decay + -h.StepSize * m[i] / denom;
        }
    }

    /// <summary>The same operations in the same order on Vector256 lanes (no fused multiply-add), so it equals Reference bit for bit.</summary>
    public static void Fast(ReadOnlySpan<float> g, Hyper h, Span<float> p, Span<float> m, Span<float> v)
    {
        var b1 = Vector256.Create(h.Beta1); var c1 = Vector256.Create(1 - h.Beta1);
        var b2 = Vector256.Create(h.Beta2); var c2 = Vector256.Create(1 - h.Beta2);
        var decay = Vector256.Create(h.Decay); var negStep = Vector256.Create(-h.StepSize);
        var bias2 = Vector256.Create(h.Bias2Sqrt); var eps = Vector256.Create(h.Eps);
        int i = 0;
        for (; i + 8 <= p.Length; i += 8)
        {
            var gi = Vector256.Create(g.Slice(i, 8));
            var mi = Vector256.Create(m.Slice(i, 8)) * b1 + c1 * gi;
            var vi = Vector256.Create(v.Slice(i, 8)) * b2 + c2 * gi * gi;
            var denom = Vector256.Sqrt(vi) / bias2 + eps;
            var pi = Vector256.Create(p.Slice(i, 8)) * decay + negStep * mi / denom;
            mi.CopyTo(m.Slice(i, 8)); vi.CopyTo(v.Slice(i, 8)); pi.CopyTo(p.Slice(i, 8));
        }
        Reference(g[i..], h, p[i..], m[i..], v[i..]);
    }
}
