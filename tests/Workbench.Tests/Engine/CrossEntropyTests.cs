using Workbench.Engine;
using Workbench.Tests.Support;

namespace Workbench.Tests.Engine;

public class CrossEntropyTests
{
    private static readonly Dictionary<string, Tensor> F = Fixtures.Load("layers/cross_entropy.safetensors");
    private static int[] Ints(Tensor t) => t.ToArray().Select(v => (int)v).ToArray();

    [Theory]
    [InlineData("")]        // [2, 3, 10] logits with two ignored targets
    [InlineData("big_")]    // logits of size ~100: needs the max shift
    public void LossAndGradientMatchTorch(string prefix)
    {
        var logits = F[prefix + "logits"];
        logits.RequiresGrad = true;
        var loss = Ops.CrossEntropy(logits, Ints(F[prefix + "targets"]));
        Assert.Empty(loss.Shape);
        Close.Assert(F[prefix + "loss"].ToArray(), [loss.Item()], 1e-6f, 1e-6f, "loss");
        loss.Backward();
        Close.Assert(F[prefix + "dlogits"], logits.Grad!, 1e-5f, 1e-7f, "logit gradient");
    }

    [Fact]
    public void AllIgnoredGivesNaNLossAndZeroGradientLikeTorch()
    {
        var logits = Tensor.Randn(new Random(1), 1f, 3, 4);
        logits.RequiresGrad = true;
        var loss = Ops.CrossEntropy(logits, [-100, -100, -100]);
        Assert.True(float.IsNaN(loss.Item()));
        loss.Backward();
        Assert.All(logits.Grad!.ToArray(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void GradientMatchesFiniteDifferences()
    {
        var logits = Tensor.Randn(new Random(2), 2f, 4, 6);
        FiniteDifference.Check(t => Ops.CrossEntropy(t[0], [5, 0, 7, 2], ignoreIndex: 7), [logits], eps: 1e-2f, rtol: 1e-2f, atol: 1e-4f);
    }

    [Fact]
    public void FastKernelMatchesReference()
    {
        int rows = 9, vocab = 1000;
        var rng = new Random(3);
        var x = Tensor.Randn(rng, 5f, rows, vocab).Span.ToArray();
        var targets = Enumerable.Range(0, rows).Select(n => n == 4 ? -1 : rng.Next(vocab)).ToArray();
        var lseRef = new float[rows];
        var lseFast = new float[rows];
        double expected = CrossEntropyKernel.ForwardReference(x, targets, -1, vocab, lseRef);
        double actual = CrossEntropyKernel.ForwardFast(x, targets, -1, vocab, lseFast);
        Assert.Equal(expected, actual, 1e-4);
        Close.Assert(lseRef, lseFast, 1e-6f, 1e-6f, "logsumexp");
        var dRef = new float[rows * vocab];
        var dFast = new float[rows * vocab];
        CrossEntropyKernel.BackwardReference(x, targets, -1, vocab, lseRef, 0.125f, dRef);
        CrossEntropyKernel.BackwardFast(x, targets, -1, vocab, lseRef, 0.125f, dFast);
        Close.Assert(dRef, dFast, 1e-5f, 1e-9f, "gradient");
    }

    [Fact]
    public void BadTargetsAreRejected()
    {
        var ex = Assert.Throws<ShapeException>(() => Ops.CrossEntropy(Tensor.Zeros(2, 5), [1, 5]));
        Assert.Contains("target 5", ex.Message);
        Assert.Throws<ShapeException>(() => Ops.CrossEntropy(Tensor.Zeros(2, 5), [1]));
    }
}
