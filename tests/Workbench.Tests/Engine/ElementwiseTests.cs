using Workbench.Engine;
using Workbench.Tests.Support;

namespace Workbench.Tests.Engine;

public class ElementwiseTests
{
    private static readonly Dictionary<string, Tensor> Torch = Fixtures.Load("engine/elementwise.safetensors");

    private static Tensor Apply(string op, Tensor a, Tensor b) => op switch
    {
        "add" => Ops.Add(a, b),
        "sub" => Ops.Sub(a, b),
        "mul" => Ops.Mul(a, b),
        _ => Ops.Div(a, b),
    };

    private static Tensor Leaf(Tensor t) { var c = t.Clone(); c.RequiresGrad = true; return c; }

    [Theory]
    [InlineData("same"), InlineData("suffix"), InlineData("general"), InlineData("middle"), InlineData("scalar")]
    public void MatchesTorchForwardAndBackward(string shapes)
    {
        foreach (var op in new[] { "add", "sub", "mul", "div" })
        {
            var a = Leaf(Torch[$"{shapes}/a"]);
            var b = Leaf(Torch[$"{shapes}/b"]);
            var y = Apply(op, a, b);
            Close.Assert(Torch[$"{shapes}/{op}/y"], y, 1e-6f, 1e-7f, $"{shapes} {op} y");
            y.Backward(Torch[$"{shapes}/gy"]);
            Close.Assert(Torch[$"{shapes}/{op}/da"], a.Grad!, 1e-5f, 1e-6f, $"{shapes} {op} da");
            Close.Assert(Torch[$"{shapes}/{op}/db"], b.Grad!, 1e-5f, 1e-6f, $"{shapes} {op} db");
        }
    }

    [Theory]
    [InlineData(new[] { 64, 33, 129 }, new[] { 64, 33, 129 })]
    [InlineData(new[] { 64, 33, 129 }, new[] { 129 })]
    [InlineData(new[] { 129 }, new[] { 64, 33, 129 })]
    [InlineData(new[] { 64, 1, 129 }, new[] { 33, 1 })]
    [InlineData(new[] { 40, 30, 1 }, new[] { 40, 1, 50 })]
    [InlineData(new[] { 1 }, new[] { 300, 200 })]
    [InlineData(new[] { 300, 200 }, new int[0])]
    public void FastKernelMatchesReference(int[] aShape, int[] bShape)
    {
        var rng = new Random(3);
        var a = Tensor.Uniform(rng, 0.5f, 2f, aShape).Data;
        var b = Tensor.Uniform(rng, 0.5f, 2f, bShape).Data;
        var shape = Shape.Broadcast(aShape, bShape, "test");
        foreach (var op in Enum.GetValues<BinaryOp>())
        {
            var expected = new float[Shape.Numel(shape)];
            var actual = new float[expected.Length];
            BroadcastKernel.Reference(op, a, aShape, b, bShape, expected, shape);
            BroadcastKernel.Fast(op, a, aShape, b, bShape, actual, shape);
            Close.Assert(expected, actual, 0, 0, $"{op} {Shape.Format(aShape)} ∘ {Shape.Format(bShape)}");
        }
    }

    [Fact]
    public void BroadcastGradientsMatchFiniteDifferences()
    {
        var rng = new Random(5);
        var a = Tensor.Randn(rng, 1f, 4, 1, 5);
        var b = Tensor.Uniform(rng, 0.5f, 1.5f, 3, 1);
        FiniteDifference.Check(t => Ops.Div(Ops.Mul(t[0], t[1]), Ops.Add(t[1], t[1])).Sub(t[0]), [a, b], 1e-2f, 1e-2f, 1e-3f);
        FiniteDifference.Check(t => Ops.Div(t[0], t[1]).Scale(-3f).AddScalar(2f), [a, b], 1e-2f, 1e-2f, 1e-3f);
    }

    [Fact]
    public void ReadsStridedViewsAndHalfPrecisionStorage()
    {
        var rng = new Random(9);
        var x = Tensor.Randn(rng, 1f, 5, 3);
        x.RequiresGrad = true;
        var xt = x.Transpose(0, 1);                      // (3, 5), strided
        var w = Tensor.Randn(rng, 1f, 5).To(DType.BF16); // frozen bf16 row
        var y = Ops.Mul(xt, w);
        var wf = w.ToArray();
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 5; j++)
                Assert.Equal(x[j, i] * wf[j], y[i, j]);
        y.Backward(Tensor.Ones(3, 5));
        for (int j = 0; j < 5; j++)
            for (int i = 0; i < 3; i++)
                Assert.Equal(wf[j], x.Grad![j, i]);
    }

    [Fact]
    public void ScaleAndAddScalar()
    {
        var x = Tensor.FromArray([1, -2, 3], 3);
        x.RequiresGrad = true;
        var y = x.Scale(2.5f).AddScalar(-1f);
        Assert.Equal([1.5f, -6f, 6.5f], y.ToArray());
        y.Backward(Tensor.FromArray([1, 2, 4], 3));
        Assert.Equal([2.5f, 5f, 10f], x.Grad!.ToArray());
    }

    [Fact]
    public void IncompatibleShapesNameTheOpAndBothShapes()
    {
        var e = Assert.Throws<ShapeException>(() => Ops.Add(Tensor.Zeros(2, 3), Tensor.Zeros(4)));
        Assert.Contains("Add", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4]", e.Message);
    }
}
