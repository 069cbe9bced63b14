using Workbench.Engine;
using Workbench.Tests.Support;

namespace Workbench.Tests.Engine;

public class AutogradTests
{
    [Fact]
    public void ViewsShareStorageAndRouteGradientsBack()
    {
        var x = Tensor.FromArray([1, 2, 3, 4, 5, 6], 2, 3);
        x.RequiresGrad = true;
        var t = x.Transpose(0, 1);                // (3, 2) strided view
        Assert.Same(x.Storage, t.Storage);
        Assert.Equal(4f, t[0, 1]);
        var n = t.Narrow(0, 1, 2);                // rows 1..2 of the transpose
        Assert.Equal([2f, 5f, 3f, 6f], n.ToArray());
        var r = n.Reshape(-1);
        r.Backward(Tensor.FromArray([10, 20, 30, 40], 4));
        // d/dx: x[0,1]←10, x[1,1]←20, x[0,2]←30, x[1,2]←40, column 0 untouched.
        Assert.Equal([0f, 10f, 30f, 0f, 20f, 40f], x.Grad!.ToArray());
    }

    [Fact]
    public void NoGradRecordsNothing()
    {
        var x = Tensor.Ones(2, 2);
        x.RequiresGrad = true;
        using (GradMode.NoGrad())
        {
            var y = x.Reshape(4);
            Assert.False(y.RequiresGrad);
            Assert.True(y.IsLeaf);
        }
        Assert.True(x.Reshape(4).RequiresGrad);
    }

    [Fact]
    public void GradientsOfTwoPathsAccumulate()
    {
        var x = Tensor.FromArray([1, 2], 2);
        x.RequiresGrad = true;
        var a = x.Reshape(1, 2);
        var b = x.Reshape(2, 1);
        a.Backward(Tensor.FromArray([1, 1], 1, 2));
        b.Backward(Tensor.FromArray([2, 3], 2, 1));
        Assert.Equal([3f, 4f], x.Grad!.ToArray());
    }

    [Fact]
    public void ShapeErrorsNameTheOpAndShapes()
    {
        var x = Tensor.Zeros(2, 3);
        var e = Assert.Throws<ShapeException>(() => x.Reshape(4, 2));
        Assert.Contains("Reshape", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4, 2]", e.Message);
    }

    [Fact]
    public void BF16RoundsToNearestEvenAndWidensExactly()
    {
        // 1 + 2^-8 lies halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to the even mantissa (1).
        Assert.Equal(1f, DTypeInfo.BF16ToFloat(DTypeInfo.FloatToBF16(1f + 1f / 256)));
        Assert.Equal(1f + 1f / 64, DTypeInfo.BF16ToFloat(DTypeInfo.FloatToBF16(1f + 3f / 256)));
        var t = Tensor.FromArray([0.15625f, -2f, 3.5f], 3).To(DType.BF16);
        Assert.Equal([0.15625f, -2f, 3.5f], t.ToArray());
    }
}
