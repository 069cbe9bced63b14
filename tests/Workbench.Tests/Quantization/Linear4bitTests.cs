using Workbench.Engine;
using Workbench.Quantization;
using Workbench.Tests.Support;

namespace Workbench.Tests.Quantization;

public class Linear4bitTests
{
    [Fact]
    public void ForwardAndBackwardMatchTorchWithTheDequantisedWeight()
    {
        var f = Fixtures.Load("quant/linear4bit.safetensors");
        var layer = Linear4bit.Quantize(f["W"], f["bias"], QuantType.Nf4, doubleQuant: true);
        Assert.Equal(f["Wq"].ToArray(), layer.Weight.Dequantize().ToArray());      // same quantised weight as the fixture

        var x = f["x"].Clone();
        x.RequiresGrad = true;
        var y = layer.Forward(x);
        Close.Assert(f["y"], y, rtol: 1e-5f, atol: 1e-5f, what: "Linear4bit forward");
        y.Backward(f["dy"]);
        Close.Assert(f["dx"], x.Grad!, rtol: 1e-5f, atol: 1e-5f, what: "Linear4bit dx");
        Assert.False(layer.Bias!.RequiresGrad);
        Assert.Null(layer.Bias.Grad);
    }

    [Fact]
    public void InputGradientPassesFiniteDifferences()
    {
        var rng = new Random(4);
        var layer = Linear4bit.Quantize(Tensor.Randn(rng, 0.1f, 12, 64), Tensor.Randn(rng, 1f, 12), QuantType.Nf4);
        FiniteDifference.Check(inputs => layer.Forward(inputs[0]), [Tensor.Randn(rng, 1f, 3, 64)], eps: 1e-2f, rtol: 1e-2f, atol: 1e-3f);
    }

    [Fact]
    public void TrainableBiasGetsItsGradient()
    {
        var rng = new Random(8);
        var bias = Tensor.Randn(rng, 1f, 12);
        var layer = Linear4bit.Quantize(Tensor.Randn(rng, 0.1f, 12, 64), bias, QuantType.Fp4);
        FiniteDifference.Check(inputs => layer.Forward(inputs[0]), [Tensor.Randn(rng, 1f, 2, 64), bias], eps: 1e-2f, rtol: 1e-2f, atol: 1e-3f);
    }

    /// <summary>
    /// More tokens than outputs (and than inputs, for dx): the GEMM cuts C into row strips and packs the 4-bit weight
    /// whole, once, decoding it as it packs; the same values as the dense layer on the dequantised weight.
    /// </summary>
    [Fact]
    public void MoreTokensThanOutputsGiveTheDenseResult()
    {
        var rng = new Random(10);
        var layer = Linear4bit.Quantize(Tensor.Randn(rng, 0.1f, 40, 96), null, QuantType.Nf4, doubleQuant: true);
        var dense = layer.Weight.Dequantize();
        var x = Tensor.Randn(rng, 1f, 600, 96);
        var xDense = x.Clone();
        x.RequiresGrad = xDense.RequiresGrad = true;
        var dy = Tensor.Randn(rng, 1f, 600, 40);
        var y = layer.Forward(x);
        var yDense = Ops.Linear(xDense, dense);
        Close.Assert(yDense, y, rtol: 1e-5f, atol: 1e-5f, what: "forward");
        y.Backward(dy);
        yDense.Backward(dy);
        Close.Assert(xDense.Grad!, x.Grad!, rtol: 1e-5f, atol: 1e-5f, what: "dx");
    }

    [Fact]
    public void ManyTilesGiveTheDenseResult()
    {
        // in = 4,000: 262 rows per tile of 2^20 elements, so 300 rows take two tiles (the second partial); blocks straddle rows
        const int rows = 300, k = 4000;
        var rng = new Random(9);
        var w = Tensor.Randn(rng, 0.05f, rows, k);
        var x = Tensor.Randn(rng, 1f, 2, k);
        foreach (QuantizedLinear layer in new QuantizedLinear[] { Linear4bit.Quantize(w, null, QuantType.Nf4), Linear8bit.Quantize(w) })
        {
            var wq = layer.Weight.Dequantize().ToArray();
            var xs = x.ToArray();
            var expected = new float[2 * rows];
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < rows; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += (double)xs[i * k + p] * wq[j * k + p];
                    expected[i * rows + j] = (float)s;
                }
            Close.Assert(expected, layer.Forward(x).ToArray(), rtol: 1e-4f, atol: 1e-3f, what: layer.GetType().Name);
        }
    }

    [Fact]
    public void Linear8bitIsCloseToTheFullPrecisionLayer()
    {
        var rng = new Random(6);
        var w = Tensor.Randn(rng, 0.05f, 16, 128);
        var x = Tensor.Randn(rng, 1f, 4, 128);
        var layer = Linear8bit.Quantize(w);
        Assert.Equal(8.5, layer.Weight.BitsPerParameter, 12);
        var wq = layer.Weight.Dequantize().ToArray();
        var wv = w.ToArray();
        // rounding to k/127 of the block's absmax: error ≤ absmax/(2·127)
        for (int i = 0; i < wv.Length; i++)
            Assert.True(MathF.Abs(wq[i] - wv[i]) <= layer.Weight.Absmax![i / 64] / 254 * 1.0001f, $"int8 weight {i}");
        FiniteDifference.Check(inputs => layer.Forward(inputs[0]), [x], eps: 1e-2f, rtol: 1e-2f, atol: 1e-3f);
    }

    [Fact]
    public void WrongInputWidthNamesBothShapes()
    {
        var layer = Linear4bit.Quantize(Tensor.Zeros(8, 64));
        var e = Assert.Throws<ShapeException>(() => layer.Forward(Tensor.Zeros(2, 32)));
        Assert.Contains("[2, 32]", e.Message);
        Assert.Contains("[8, 64]", e.Message);
    }
}
