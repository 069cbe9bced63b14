using Workbench.Engine;
using Workbench.Tests.Support;

namespace Workbench.Tests.Engine;

public class NormTests
{
    private static readonly Dictionary<string, Tensor> Torch = Fixtures.Load("engine/norms.safetensors");

    private static Tensor Leaf(string name) { var c = Torch[name].Clone(); c.RequiresGrad = true; return c; }

    [Theory]
    [InlineData(false), InlineData(true)]
    public void RmsNormMatchesTorch(bool unitOffset)
    {
        string key = unitOffset ? "rms_unit" : "rms";
        var (x, w) = (Leaf("x"), Leaf("w"));
        var y = x.RmsNorm(w, 1e-6f, unitOffset);
        Close.Assert(Torch[$"{key}/y"], y, 1e-5f, 1e-6f, $"{key} y");
        y.Backward(Torch["gy"]);
        Close.Assert(Torch[$"{key}/dx"], x.Grad!, 1e-5f, 2e-6f, $"{key} dx");
        Close.Assert(Torch[$"{key}/dw"], w.Grad!, 1e-5f, 2e-6f, $"{key} dw");
    }

    [Fact]
    public void RmsNormReadsFrozenBf16Weight()
    {
        var x = Leaf("x");
        var w = Torch["w_bf16"];
        Assert.Equal(DType.BF16, w.DType);
        var y = x.RmsNorm(w, 1e-6f);
        Close.Assert(Torch["rms_bf16/y"], y, 1e-5f, 1e-6f, "bf16 weight y");
        y.Backward(Torch["gy"]);
        Close.Assert(Torch["rms_bf16/dx"], x.Grad!, 1e-5f, 2e-6f, "bf16 weight dx");
        Assert.Null(w.Grad);
    }

    [Theory]
    [InlineData(true), InlineData(false)]
    public void LayerNormMatchesTorch(bool withBias)
    {
        string key = withBias ? "ln" : "ln_nobias";
        var (x, w, b) = (Leaf("x"), Leaf("w"), Leaf("b"));
        var y = x.LayerNorm(w, withBias ? b : null, 1e-5f);
        Close.Assert(Torch[$"{key}/y"], y, 1e-5f, 1e-6f, $"{key} y");
        y.Backward(Torch["gy"]);
        Close.Assert(Torch[$"{key}/dx"], x.Grad!, 1e-5f, 2e-6f, $"{key} dx");
        Close.Assert(Torch[$"{key}/dw"], w.Grad!, 1e-5f, 2e-6f, $"{key} dw");
        if (withBias) Close.Assert(Torch["ln/db"], b.Grad!, 1e-5f, 2e-6f, "ln db");
    }

    [Theory]
    [InlineData(300, 1000, false), InlineData(300, 1000, true), InlineData(5, 77, true)]
    public void FastKernelsMatchReference(int rows, int c, bool center)
    {
        var rng = new Random(19);
        var x = Tensor.Randn(rng, 2f, rows, c).Data;
        var w = Tensor.Randn(rng, 1f, c).Data;
        var b = Tensor.Randn(rng, 1f, c).Data;
        var g = Tensor.Randn(rng, 1f, rows, c).Data;
        var (yRef, yFast, mean, rstd) = (new float[x.Length], new float[x.Length], new float[rows], new float[rows]);
        NormKernel.ForwardReference(x, w, b, rows, c, 1e-5f, center, yRef, mean, rstd);
        NormKernel.Forward(x, w, b, rows, c, 1e-5f, center, yFast, new float[rows], new float[rows]);
        Close.Assert(yRef, yFast, 1e-5f, 1e-5f, "forward");
        var (dxRef, dxFast) = (new float[x.Length], new float[x.Length]);
        var (dwRef, dwFast, dbRef, dbFast) = (new float[c], new float[c], new float[c], new float[c]);
        NormKernel.BackwardReference(x, w, g, mean, rstd, rows, c, center, dxRef, dwRef, dbRef);
        NormKernel.Backward(x, w, g, mean, rstd, rows, c, center, dxFast, dwFast, dbFast);
        Close.Assert(dxRef, dxFast, 1e-4f, 1e-5f, "dx");
        Close.Assert(dwRef, dwFast, 1e-4f, 1e-4f, "dw");
        Close.Assert(dbRef, dbFast, 1e-4f, 1e-4f, "db");
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        var rng = new Random(6);
        var x = Tensor.Randn(rng, 1f, 3, 6);
        var w = Tensor.Randn(rng, 0.5f, 6).AddScalar(1f);
        var b = Tensor.Randn(rng, 0.5f, 6);
        FiniteDifference.Check(t => t[0].RmsNorm(t[1], 1e-6f), [x, w], 1e-2f, 2e-2f, 2e-3f);
        FiniteDifference.Check(t => t[0].RmsNorm(t[1], 1e-6f, unitOffset: true), [x, w], 1e-2f, 2e-2f, 2e-3f);
        FiniteDifference.Check(t => t[0].LayerNorm(t[1], t[2], 1e-5f), [x, w, b], 1e-2f, 2e-2f, 2e-3f);
    }

    [Fact]
    public void WrongWeightSizeNamesTheOpAndBothShapes()
    {
        var e = Assert.Throws<ShapeException>(() => Tensor.Zeros(2, 8).RmsNorm(Tensor.Ones(4), 1e-6f));
        Assert.Contains("RmsNorm", e.Message);
        Assert.Contains("[4]", e.Message);
        Assert.Contains("[2, 8]", e.Message);
        var l = Assert.Throws<ShapeException>(() => Tensor.Zeros(2, 8).LayerNorm(Tensor.Ones(8), Tensor.Ones(7), 1e-5f));
        Assert.Contains("LayerNorm", l.Message);
        Assert.Contains("[7]", l.Message);
    }
}
