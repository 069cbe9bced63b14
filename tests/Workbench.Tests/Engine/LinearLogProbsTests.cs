using Workbench.Engine;
using Workbench.Tests.Support;

namespace Workbench.Tests.Engine;

public class LinearLogProbsTests
{
    private static readonly Dictionary<string, Tensor> F = Fixtures.Load("layers/linear_log_probs.safetensors");

    [Fact]
    public void LogProbsAndGradientsMatchTorch()
    {
        var x = F["x"].Clone();
        var w = F["weight"].Clone();
        x.RequiresGrad = w.RequiresGrad = true;
        var logp = Ops.LinearLogProbs(x, w, Ints(F["targets"]));
        Close.Assert(F["logp"], logp, 1e-5f, 1e-6f, "log-probabilities");
        logp.Backward(F["upstream"]);
        Close.Assert(F["dx"], x.Grad!, 1e-5f, 1e-6f, "input gradient");
        Close.Assert(F["dweight"], w.Grad!, 1e-5f, 1e-6f, "weight gradient");
    }

    /// <summary>The same values and input gradient as Linear → LogSoftmax → gather, for an fp32 and a bf16 weight.</summary>
    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void EqualsTheHeadThenTheLogSoftmax(DType dtype)
    {
        var rng = new Random(13);
        int rows = 40, width = 24, vocab = 300;
        var targets = Enumerable.Range(0, rows).Select(_ => rng.Next(vocab)).ToArray();
        var xFused = Tensor.Randn(rng, 1f, rows, width);
        var w = Tensor.Randn(rng, 0.5f, vocab, width).To(dtype);
        var xOps = xFused.Clone();
        xFused.RequiresGrad = xOps.RequiresGrad = true;
        var upstream = Tensor.Randn(rng, 1f, rows);

        var fused = Ops.LinearLogProbs(xFused, w, targets);
        var logSoftmax = Ops.LogSoftmax(Ops.Linear(xOps, w));
        var gathered = Ops.Embedding(logSoftmax.Reshape(rows * vocab, 1), targets.Select((t, i) => i * vocab + t).ToArray()).Reshape(rows);
        Close.Assert(gathered, fused, 1e-5f, 1e-6f, "log-probabilities");
        fused.Backward(upstream);
        gathered.Backward(upstream);
        Close.Assert(xOps.Grad!, xFused.Grad!, 1e-5f, 1e-6f, "input gradient");
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        var rng = new Random(14);
        var targets = Enumerable.Range(0, 6).Select(i => i % 7).ToArray();
        FiniteDifference.Check(t => Ops.LinearLogProbs(t[0], t[1], targets), [Tensor.Randn(rng, 1f, 6, 5), Tensor.Randn(rng, 1f, 7, 5)],
            eps: 1e-2f, rtol: 1e-2f, atol: 1e-4f);
    }

    [Fact]
    public void WithoutGradOnlyTheLogProbsAreComputed()
    {
        var x = F["x"].Clone();
        x.RequiresGrad = true;
        Tensor logp;
        using (GradMode.NoGrad()) logp = Ops.LinearLogProbs(x, F["weight"], Ints(F["targets"]));
        Assert.False(logp.RequiresGrad);
        Close.Assert(F["logp"], logp, 1e-5f, 1e-6f, "log-probabilities");
    }

    [Fact]
    public void EveryRowNeedsATargetInTheVocabulary()
    {
        var w = Tensor.Zeros(5, 3);
        Assert.Contains("target -100", Assert.Throws<ShapeException>(() => Ops.LinearLogProbs(Tensor.Zeros(2, 3), w, [1, -100])).Message);
        Assert.Contains("target 5", Assert.Throws<ShapeException>(() => Ops.LinearLogProbs(Tensor.Zeros(2, 3), w, [5, 1])).Message);
        Assert.Contains("weight [V, C]", Assert.Throws<ShapeException>(() => Ops.LinearLogProbs(Tensor.Zeros(2, 4), w, [1, 2])).Message);
    }

    private static int[] Ints(Tensor t) => t.ToArray().Select(v => (int)v).ToArray();
}
