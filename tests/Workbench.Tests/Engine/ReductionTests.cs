using Workbench.Engine;
using Workbench.Tests.Support;

namespace Workbench.Tests.Engine;

public class ReductionTests
{
    private static readonly Dictionary<string, Tensor> Torch = Fixtures.Load("engine/reductions.safetensors");

    [Theory]
    [InlineData("sum", 0, false), InlineData("sum", 1, true), InlineData("sum", 2, false), InlineData("sum", -1, true)]
    [InlineData("mean", 0, true), InlineData("mean", 1, false), InlineData("mean", 2, true), InlineData("mean", -2, false)]
    public void AxisReductionsMatchTorch(string op, int axis, bool keepDim)
    {
        var x = Torch["x"].Clone();
        x.RequiresGrad = true;
        var y = op == "sum" ? x.Sum(axis, keepDim) : x.Mean(axis, keepDim);
        string key = $"{op}/{(axis + 3) % 3}/{(keepDim ? 1 : 0)}";
        Close.Assert(Torch[$"{key}/y"], y, 1e-6f, 1e-6f, $"{key} y");
        y.Backward(Torch[$"{key}/gy"]);
        Close.Assert(Torch[$"{key}/dx"], x.Grad!, 1e-6f, 1e-7f, $"{key} dx");
    }

    [Fact]
    public void FullReductionsAreRankZeroAndSeedTheirOwnBackward()
    {
        foreach (var op in new[] { "sumall", "meanall" })
        {
            var x = Torch["x"].Clone();
            x.RequiresGrad = true;
            var y = op == "sumall" ? x.SumAll() : x.MeanAll();
            Assert.Equal(0, y.Rank);
            Assert.Equal(1, y.Numel);
            Close.Assert(Torch[$"{op}/y"], y, 1e-6f, 1e-6f, $"{op} y");
            y.Backward(Torch[$"{op}/gy"]);
            Close.Assert(Torch[$"{op}/dx"], x.Grad!, 1e-6f, 1e-7f, $"{op} dx");
        }
        var z = Tensor.FromArray([1, 2, 3, 4], 2, 2);
        z.RequiresGrad = true;
        z.MeanAll().Backward();
        Assert.Equal([0.25f, 0.25f, 0.25f, 0.25f], z.Grad!.ToArray());
    }

    [Theory]
    [InlineData(7, 1000, 3), InlineData(300, 500, 1), InlineData(1, 300, 700), InlineData(2, 1, 5)]
    public void FastKernelMatchesReference(int outer, int n, int inner)
    {
        var x = Tensor.Randn(new Random(11), 1f, outer, n, inner).Data;
        var expected = new float[outer * inner];
        var actual = new float[outer * inner];
        ReduceKernel.Reference(x, outer, n, inner, expected);
        ReduceKernel.Fast(x, outer, n, inner, actual);
        // fp32 accumulation in the fast kernel against a double reference: √n-ish rounding growth.
        Close.Assert(expected, actual, 1e-5f, 2e-5f, $"[{outer}, {n}, {inner}]");
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        var x = Tensor.Randn(new Random(2), 1f, 3, 4, 2);
        FiniteDifference.Check(t => t[0].Mean(1).Sum(0, keepDim: true), [x], 1e-2f, 1e-3f, 1e-4f);
        FiniteDifference.Check(t => t[0].Mul(t[0]).SumAll(), [x], 1e-2f, 1e-2f, 1e-3f);
    }

    [Fact]
    public void AxisOutOfRangeNamesTheOp()
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Tensor.Zeros(2, 3).Sum(2));
        Assert.Contains("Sum", e.Message);
    }
}
