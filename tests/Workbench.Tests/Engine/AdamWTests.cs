using Workbench.Engine;
using Workbench.Engine.Optim;
using Workbench.Tests.Support;

namespace Workbench.Tests.Engine;

public class AdamWTests
{
    private static readonly Dictionary<string, Tensor> F = Fixtures.Load("layers/adamw.safetensors");

    [Fact]
    public void FiveClippedStepsMatchTorch()
    {
        Tensor[] p = [F["p0_init"].Clone(), F["p1_init"].Clone()];
        foreach (var t in p) t.RequiresGrad = true;
        var opt = new AdamW(p, lr: 1e-2f, beta1: 0.9f, beta2: 0.95f, eps: 1e-8f, weightDecay: 0.1f);
        for (int step = 0; step < 5; step++)
        {
            for (int i = 0; i < p.Length; i++) p[i].Grad = F[$"step{step}_g{i}"].Clone();
            float norm = GradClip.ClipGradNorm(p, maxNorm: 1f);
            Close.Assert(F[$"step{step}_norm"].ToArray(), [norm], 1e-6f, 0, $"gradient norm at step {step}");
            opt.Step();
            for (int i = 0; i < p.Length; i++)
                Close.Assert(F[$"step{step}_p{i}"], p[i], 1e-6f, 1e-6f, $"parameter {i} after step {step}");
            opt.ZeroGrad();
            Assert.All(p, t => Assert.Null(t.Grad));
        }
        Assert.Equal(5, opt.StepCount);
        for (int i = 0; i < p.Length; i++)
        {
            Close.Assert(F[$"exp_avg{i}"], opt.ExpAvg[i], 1e-5f, 1e-7f, $"exp_avg {i}");
            Close.Assert(F[$"exp_avg_sq{i}"], opt.ExpAvgSq[i], 1e-5f, 1e-9f, $"exp_avg_sq {i}");
        }
    }

    [Fact]
    public void ParametersWithoutGradientAreLeftAlone()
    {
        var a = Tensor.Ones(3); var b = Tensor.Ones(2);
        a.RequiresGrad = b.RequiresGrad = true;
        var opt = new AdamW([a, b], lr: 0.1f, weightDecay: 0.5f);
        a.Grad = Tensor.FromArray([1f, -1f, 0f], 3);
        opt.Step();
        Assert.Equal([1f, 1f], b.ToArray());
        Assert.All(opt.ExpAvg[1].ToArray(), m => Assert.Equal(0f, m));
        // First step: m̂ = g, v̂ = g², so p = 1·(1 − 0.05) − 0.1·g / (|g| + ε).
        Close.Assert([0.85f, 1.05f, 0.95f], a.ToArray(), 1e-6f, 1e-6f, "first step");
    }

    [Fact]
    public void FastKernelEqualsReferenceBitForBit()
    {
        var rng = new Random(1);
        int n = 1003;
        var g = Tensor.Randn(rng, 1f, n).Span.ToArray();
        var h = new AdamWKernel.Hyper(Decay: 0.999f, Beta1: 0.9f, Beta2: 0.999f, StepSize: 0.003f, Bias2Sqrt: 0.05f, Eps: 1e-8f);
        float[] pRef = Tensor.Randn(rng, 1f, n).Span.ToArray(), mRef = Tensor.Randn(rng, 0.1f, n).Span.ToArray(), vRef = Tensor.Uniform(rng, 0, 0.1f, n).Span.ToArray();
        float[] pFast = (float[])pRef.Clone(), mFast = (float[])mRef.Clone(), vFast = (float[])vRef.Clone();
        AdamWKernel.Reference(g, h, pRef, mRef, vRef);
        AdamWKernel.Fast(g, h, pFast, mFast, vFast);
        Assert.Equal(pRef, pFast);
        Assert.Equal(mRef, mFast);
        Assert.Equal(vRef, vFast);
    }

    [Fact]
    public void ClipLeavesSmallGradientsUnchanged()
    {
        var a = Tensor.Zeros(2);
        a.Grad = Tensor.FromArray([3f, 4f], 2);
        Assert.Equal(5f, GradClip.ClipGradNorm([a, Tensor.Zeros(3)], maxNorm: 10f));
        Assert.Equal([3f, 4f], a.Grad.ToArray());
        Assert.Equal(5f, GradClip.ClipGradNorm([a], maxNorm: 1f));
        Close.Assert([0.6f, 0.8f], a.Grad.ToArray(), 1e-6f, 0, "clipped to norm 1");
    }
}
