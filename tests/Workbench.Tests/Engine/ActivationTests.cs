using Workbench.Engine;
using Workbench.Tests.Support;
using K = Workbench.Engine.ActivationKernel;

namespace Workbench.Tests.Engine;

public class ActivationTests
{
    private static readonly Dictionary<string, Tensor> Torch = Fixtures.Load("engine/activations.safetensors");

    [Theory]
    [InlineData("gelu"), InlineData("gelu_tanh"), InlineData("silu")]
    public void MatchTorchForwardAndBackward(string op)
    {
        var x = Torch["x"].Clone();
        x.RequiresGrad = true;
        var y = op switch { "gelu" => x.Gelu(), "gelu_tanh" => x.Gelu(tanhApproximation: true), _ => x.Silu() };
        // erf GELU within 1e-6 absolute of torch; the others 1e-5 relative.
        if (op == "gelu") Close.Assert(Torch[$"{op}/y"], y, 0, 1e-6f, $"{op} y");
        else Close.Assert(Torch[$"{op}/y"], y, 1e-5f, 1e-6f, $"{op} y");
        y.Backward(Torch["gy"]);
        Close.Assert(Torch[$"{op}/dx"], x.Grad!, 1e-5f, 2e-6f, $"{op} dx");
    }

    [Theory]
    [InlineData("swiglu"), InlineData("geglu")]
    public void GatedFormsMatchTorch(string op)
    {
        var gate = Torch["gate"].Clone();
        var up = Torch["up"].Clone();
        gate.RequiresGrad = up.RequiresGrad = true;
        var y = op == "swiglu" ? Ops.SwiGlu(gate, up) : Ops.GeGlu(gate, up);
        Close.Assert(Torch[$"{op}/y"], y, 1e-5f, 1e-6f, $"{op} y");
        y.Backward(Torch["glu_gy"]);
        Close.Assert(Torch[$"{op}/dgate"], gate.Grad!, 1e-5f, 2e-6f, $"{op} dgate");
        Close.Assert(Torch[$"{op}/dup"], up.Grad!, 1e-5f, 2e-6f, $"{op} dup");
    }

    [Fact]
    public void ErfMatchesPublishedValues()
    {
        // Abramowitz & Stegun table 7.1 / mpmath.erf.
        (double z, double erf)[] table = [(0, 0), (0.1, 0.1124629160182849), (0.5, 0.5204998778130465), (1, 0.8427007929497149),
            (2, 0.9953222650189527), (2.9, 0.9999589021219005), (3.5, 0.9999992569016276), (5, 0.9999999999984626)];
        foreach (var (z, erf) in table)
        {
            Assert.Equal(erf, K.Erf(z), 1e-14);
            Assert.Equal(-erf, K.Erf(-z), 1e-14);
        }
    }

    [Fact]
    public void FastKernelsMatchReference()
    {
        Check<K.GeluErf>("gelu");
        Check<K.GeluTanh>("gelu_tanh");
        Check<K.Silu>("silu");
    }

    private static void Check<T>(string name) where T : struct, IActivation
    {
        var rng = new Random(17);
        int n = 40_003;  // several parallel chunks and a ragged tail
        var x = Tensor.Uniform(rng, -12f, 12f, n).Data;
        var up = Tensor.Randn(rng, 1f, n).Data;
        var g = Tensor.Randn(rng, 1f, n).Data;
        foreach (var gated in new[] { false, true })
        {
            var u = gated ? up : [];
            var (yRef, yFast) = (new float[n], new float[n]);
            K.ForwardReference<T>(x, u, yRef);
            K.Forward<T>(x, u, yFast);
            Close.Assert(yRef, yFast, 2e-6f, 5e-7f, $"{name} forward gated={gated}");
            var (dxRef, dxFast, duRef, duFast) = (new float[n], new float[n], gated ? new float[n] : [], gated ? new float[n] : []);
            K.BackwardReference<T>(x, u, g, dxRef, duRef);
            K.Backward<T>(x, u, g, dxFast, duFast);
            Close.Assert(dxRef, dxFast, 1e-5f, 1e-6f, $"{name} dx gated={gated}");
            Close.Assert(duRef, duFast, 2e-6f, 5e-7f, $"{name} dup gated={gated}");
        }
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        var rng = new Random(8);
        var x = Tensor.Uniform(rng, -4f, 4f, 3, 7);
        var u = Tensor.Randn(rng, 1f, 3, 7);
        FiniteDifference.Check(t => t[0].Gelu(), [x], 1e-2f, 1e-2f, 1e-3f);
        FiniteDifference.Check(t => t[0].Gelu(tanhApproximation: true), [x], 1e-2f, 1e-2f, 1e-3f);
        FiniteDifference.Check(t => t[0].Silu(), [x], 1e-2f, 1e-2f, 1e-3f);
        FiniteDifference.Check(t => Ops.SwiGlu(t[0], t[1]), [x, u], 1e-2f, 1e-2f, 1e-3f);
        FiniteDifference.Check(t => Ops.GeGlu(t[0], t[1]), [x, u], 1e-2f, 1e-2f, 1e-3f);
    }

    [Fact]
    public void GatedShapesMustMatch()
    {
        var e = Assert.Throws<ShapeException>(() => Ops.SwiGlu(Tensor.Zeros(2, 8), Tensor.Zeros(2, 4)));
        Assert.Contains("SwiGlu", e.Message);
        Assert.Contains("[2, 8]", e.Message);
        Assert.Contains("[2, 4]", e.Message);
    }
}
