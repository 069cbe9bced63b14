using Workbench.Engine;
using Workbench.Tests.Support;

namespace Workbench.Tests.Engine;

public class LinearCrossEntropyTests
{
    private static readonly Dictionary<string, Tensor> F = Fixtures.Load("layers/linear_cross_entropy.safetensors");

    /// <summary>A chunk budget of one float: as many chunks as the rows allow.</summary>
    private const long SmallestChunks = 1;

    [Theory]
    [InlineData(Ops.LinearCrossEntropyChunkFloats)]   // one chunk
    [InlineData(SmallestChunks)]                      // 40 rows in two chunks of 20
    public void LossAndGradientsMatchTorch(long chunkFloats)
    {
        var x = F["x"].Clone();
        var w = F["weight"].Clone();
        x.RequiresGrad = w.RequiresGrad = true;
        var loss = Ops.LinearCrossEntropy(x, w, Ints(F["targets"]), -100, chunkFloats);
        Assert.Empty(loss.Shape);
        Close.Assert(F["loss"].ToArray(), [loss.Item()], 1e-6f, 1e-6f, "loss");
        loss.Backward();
        Close.Assert(F["dx"], x.Grad!, 1e-5f, 1e-7f, "input gradient");
        Close.Assert(F["dweight"], w.Grad!, 1e-5f, 1e-7f, "weight gradient");
    }

    [Fact]
    public void ChunksAreEqualAndNeverSkinny()
    {
        Assert.Equal(2, Ops.LinearCrossEntropyChunks(40, 50, SmallestChunks));      // 40 / 17
        Assert.Equal(1, Ops.LinearCrossEntropyChunks(16, 50, SmallestChunks));
        // 4 × 1,024 rows of a 32,000 vocabulary: 131M logits in chunks of at most 33.5M
        Assert.Equal(4, Ops.LinearCrossEntropyChunks(4096, 32000));
        Assert.Equal(1, Ops.LinearCrossEntropyChunks(1024, 32000));
    }

    /// <summary>
    /// The same loss and input gradient as the two ops, bit for bit, whatever the chunking, for an fp32 and a bf16 weight
    /// (the ignored row gets a zero gradient); the weight gradient sums its chunks in another order, so it is close.
    /// </summary>
    [Theory]
    [InlineData(DType.F32, Ops.LinearCrossEntropyChunkFloats)]
    [InlineData(DType.F32, 4000)]
    [InlineData(DType.BF16, 4000)]
    public void EqualsTheHeadThenTheLossBitForBit(DType dtype, long chunkFloats)
    {
        var rng = new Random(11);
        int rows = 70, width = 24, vocab = 300;
        var targets = Enumerable.Range(0, rows).Select(i => i % 9 == 4 ? -100 : rng.Next(vocab)).ToArray();
        var xFused = Tensor.Randn(rng, 1f, rows, width);
        var w = Tensor.Randn(rng, 0.5f, vocab, width).To(dtype);
        var xTwoOps = xFused.Clone();
        xFused.RequiresGrad = xTwoOps.RequiresGrad = true;
        Assert.True(Ops.LinearCrossEntropyChunks(rows, vocab, chunkFloats) == (chunkFloats == 4000 ? 4 : 1));

        var fused = Ops.LinearCrossEntropy(xFused, w, targets, -100, chunkFloats);
        var twoOps = Ops.CrossEntropy(Ops.Linear(xTwoOps, w), targets);
        Assert.Equal(twoOps.Item(), fused.Item());
        fused.Backward();
        twoOps.Backward();
        Assert.Equal(xTwoOps.Grad!.ToArray(), xFused.Grad!.ToArray());
        Assert.All(xFused.Grad!.ToArray().AsSpan(4 * width, width).ToArray(), g => Assert.Equal(0f, g));

        if (dtype != DType.F32) return;
        var wFused = w.Clone();
        var wTwoOps = w.Clone();
        wFused.RequiresGrad = wTwoOps.RequiresGrad = true;
        Ops.LinearCrossEntropy(xFused.Detach(), wFused, targets, -100, chunkFloats).Backward();
        Ops.CrossEntropy(Ops.Linear(xTwoOps.Detach(), wTwoOps), targets).Backward();
        Close.Assert(wTwoOps.Grad!, wFused.Grad!, 1e-5f, 1e-8f, "weight gradient");
    }

    [Fact]
    public void AnUpstreamGradientScalesBothGradients()
    {
        var x = F["x"].Clone();
        var w = F["weight"].Clone();
        x.RequiresGrad = w.RequiresGrad = true;
        Ops.LinearCrossEntropy(x, w, Ints(F["targets"]), -100, SmallestChunks).Backward(Tensor.Scalar(0.25f));
        Close.Assert(F["dx"].ToArray().Select(v => v * 0.25f).ToArray(), x.Grad!.ToArray(), 1e-5f, 1e-8f, "input gradient");
        Close.Assert(F["dweight"].ToArray().Select(v => v * 0.25f).ToArray(), w.Grad!.ToArray(), 1e-5f, 1e-8f, "weight gradient");
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        var rng = new Random(12);
        var x = Tensor.Randn(rng, 1f, 36, 5);
        var w = Tensor.Randn(rng, 1f, 7, 5);
        var targets = Enumerable.Range(0, 36).Select(i => i == 10 ? -100 : i % 7).ToArray();
        FiniteDifference.Check(t => Ops.LinearCrossEntropy(t[0], t[1], targets, -100, SmallestChunks), [x, w], eps: 1e-2f, rtol: 1e-2f, atol: 1e-4f);
    }

    [Fact]
    public void WithoutGradOnlyTheLossIsComputed()
    {
        var x = F["x"].Clone();
        x.RequiresGrad = true;
        Tensor loss;
        using (GradMode.NoGrad()) loss = Ops.LinearCrossEntropy(x, F["weight"], Ints(F["targets"]), -100, SmallestChunks);
        Assert.False(loss.RequiresGrad);
        Close.Assert(F["loss"].ToArray(), [loss.Item()], 1e-6f, 1e-6f, "loss");
    }

    [Fact]
    public void AllIgnoredGivesNaNLossAndZeroGradientLikeTorch()
    {
        var x = Tensor.Randn(new Random(1), 1f, 3, 4);
        x.RequiresGrad = true;
        var loss = Ops.LinearCrossEntropy(x, Tensor.Randn(new Random(2), 1f, 6, 4), [-100, -100, -100]);
        Assert.True(float.IsNaN(loss.Item()));
        loss.Backward();
        Assert.All(x.Grad!.ToArray(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void BadShapesAndTargetsAreRejected()
    {
        var w = Tensor.Zeros(5, 3);
        Assert.Contains("target 5", Assert.Throws<ShapeException>(() => Ops.LinearCrossEntropy(Tensor.Zeros(2, 3), w, [1, 5])).Message);
        Assert.Contains("1 targets for 2 rows", Assert.Throws<ShapeException>(() => Ops.LinearCrossEntropy(Tensor.Zeros(2, 3), w, [1])).Message);
        Assert.Contains("weight [V, C]", Assert.Throws<ShapeException>(() => Ops.LinearCrossEntropy(Tensor.Zeros(2, 4), w, [1, 2])).Message);
    }

    private static int[] Ints(Tensor t) => t.ToArray().Select(v => (int)v).ToArray();
}
