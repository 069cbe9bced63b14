using Workbench.Engine;
using Workbench.Tests.Support;

namespace Workbench.Tests.Engine;

public class EmbeddingTests
{
    private static readonly Dictionary<string, Tensor> F = Fixtures.Load("layers/embedding.safetensors");
    private static int[] Ids => F["ids"].ToArray().Select(v => (int)v).ToArray();

    [Fact]
    public void ForwardAndWeightGradientMatchTorch()
    {
        var w = F["weight"];
        w.RequiresGrad = true;
        var y = Ops.Embedding(w, Ids, 2, 3);
        Assert.Equal([2, 3, 6], y.Shape);
        Close.Assert(F["y"], y, 0, 0, "embedding rows");
        y.Backward(F["gy"]);
        // Id 3 appears three times: its row of dW is the sum of three upstream rows.
        Close.Assert(F["dweight"], w.Grad!, 1e-6f, 1e-6f, "embedding weight gradient");
    }

    [Fact]
    public void FrozenBF16WeightIsWidenedAndRecordsNothing()
    {
        var w = F["weight_bf16"];
        Assert.Equal(DType.BF16, w.DType);
        var y = Ops.Embedding(w, Ids, 2, 3);
        Close.Assert(F["y_bf16"], y, 0, 0, "bf16 embedding rows");
        Assert.False(y.RequiresGrad);
    }

    [Fact]
    public void OutOfRangeIdNamesTheIdAndVocabulary()
    {
        var ex = Assert.Throws<ShapeException>(() => Ops.Embedding(Tensor.Zeros(11, 6), [1, 11]));
        Assert.Contains("id 11", ex.Message);
        Assert.Contains("size 11", ex.Message);
        Assert.Throws<ShapeException>(() => Ops.Embedding(Tensor.Zeros(11, 6), [-1]));
    }

    [Fact]
    public void GradientMatchesFiniteDifferences()
    {
        var w = Tensor.Randn(new Random(1), 1f, 5, 3);
        FiniteDifference.Check(t => Ops.Embedding(t[0], [4, 0, 4, 2], 2, 2), [w], eps: 1e-2f, rtol: 1e-3f, atol: 1e-4f);
    }

    [Fact]
    public void FastKernelsMatchReference()
    {
        int vocab = 50, dim = 130;                                  // 130 columns: two 64-wide blocks and a tail
        var rng = new Random(2);
        var weight = Tensor.Randn(rng, 1f, vocab, dim).To(DType.F16);
        var ids = Enumerable.Range(0, 40).Select(_ => rng.Next(vocab)).ToArray();
        var expected = new float[ids.Length * dim];
        var actual = new float[ids.Length * dim];
        EmbeddingKernel.GatherReference(weight.Storage, 0, dim, ids, expected, dim);
        EmbeddingKernel.GatherFast(weight.Storage, 0, dim, ids, actual, dim);
        Close.Assert(expected, actual, 0, 0, "gather");

        var dy = Tensor.Randn(rng, 1f, ids.Length, dim).Span.ToArray();
        var dwExpected = new float[vocab * dim];
        var dwActual = new float[vocab * dim];
        EmbeddingKernel.ScatterAddReference(dy, ids, dwExpected, dim);
        EmbeddingKernel.ScatterAddFast(dy, ids, dwActual, dim);
        Close.Assert(dwExpected, dwActual, 0, 0, "scatter-add");
    }
}
