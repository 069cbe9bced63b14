using Workbench.Engine;
using Workbench.Tests.Support;

namespace Workbench.Tests.Engine;

public class SoftmaxTests
{
    private static readonly Dictionary<string, Tensor> Torch = Fixtures.Load("engine/softmax.safetensors");

    [Theory]
    [InlineData("last", -1), InlineData("large", -1), InlineData("middle", 1), InlineData("first", 0)]
    public void MatchesTorchForwardAndBackward(string name, int axis)
    {
        foreach (var log in new[] { false, true })
        {
            string op = log ? "logsoftmax" : "softmax";
            var x = Torch[$"{name}/x"].Clone();
            x.RequiresGrad = true;
            var y = log ? x.LogSoftmax(axis) : x.Softmax(axis);
            // log-softmax of the "large" rows is ~−60: relative error of the fp32 shift dominates.
            Close.Assert(Torch[$"{name}/{op}/y"], y, 1e-5f, 2e-6f, $"{name} {op} y");
            y.Backward(Torch[$"{name}/gy"]);
            Close.Assert(Torch[$"{name}/{op}/dx"], x.Grad!, 1e-5f, 2e-6f, $"{name} {op} dx");
        }
    }

    [Fact]
    public void HugeLogitsStayFinite()
    {
        var y = Tensor.FromArray([1e30f, 0f, -1e30f], 1, 3).Softmax();
        Assert.Equal([1f, 0f, 0f], y.ToArray());
        var l = Tensor.FromArray([1000f, 1000f], 2).LogSoftmax();
        Close.Assert([-MathF.Log(2), -MathF.Log(2)], l.ToArray(), 1e-6f, 0, "log-softmax of equal logits");
    }

    [Theory]
    [InlineData(300, 257, 1), InlineData(4, 37, 45), InlineData(1, 5000, 1)]
    public void FastKernelsMatchReference(int outer, int n, int inner)
    {
        var rng = new Random(13);
        var x = Tensor.Randn(rng, 4f, outer, n, inner).Data;
        var g = Tensor.Randn(rng, 1f, outer, n, inner).Data;
        foreach (var log in new[] { false, true })
        {
            var (yRef, yFast) = (new float[x.Length], new float[x.Length]);
            SoftmaxKernel.ForwardReference(x, outer, n, inner, log, yRef);
            SoftmaxKernel.Forward(x, outer, n, inner, log, yFast);
            // log-softmax near 0 carries the fp32 rounding of Σ exp as absolute error.
            Close.Assert(yRef, yFast, 2e-5f, 1e-6f, $"forward log={log}");
            var (dRef, dFast) = (new float[x.Length], new float[x.Length]);
            SoftmaxKernel.BackwardReference(yRef, g, outer, n, inner, log, dRef);
            SoftmaxKernel.Backward(yRef, g, outer, n, inner, log, dFast);
            Close.Assert(dRef, dFast, 1e-4f, 1e-6f, $"backward log={log}");
        }
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        var x = Tensor.Randn(new Random(4), 2f, 3, 4, 5);
        FiniteDifference.Check(t => t[0].Softmax(1), [x], 1e-2f, 2e-2f, 1e-3f);
        FiniteDifference.Check(t => t[0].LogSoftmax(), [x], 1e-2f, 2e-2f, 1e-3f);
    }
}
