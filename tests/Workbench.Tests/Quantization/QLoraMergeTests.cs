using Workbench.Adapters;
using Workbench.Adapters.Lora;
using Workbench.Engine;
using Workbench.Quantization;
using Workbench.Tests.Support;

namespace Workbench.Tests.Quantization;

/// <summary>The 4-bit side of merging a QLoRA adapter: dequantise, add s·B·A, export in 16 bits, report re-quantisation error.</summary>
public class QLoraMergeTests
{
    [Fact]
    public void DequantisedLayerStoresTheDequantisedWeightInTheDtypeAsked()
    {
        var rng = new Random(1);
        var q = Linear4bit.Quantize(Tensor.Randn(rng, 0.05f, 32, 128), Tensor.Randn(rng, 1f, 32), QuantType.Nf4, doubleQuant: true);
        var f32 = ModelQuantizer.Dequantize(q);
        var bf16 = ModelQuantizer.Dequantize(q, DType.BF16);
        Assert.Equal(q.Weight.Dequantize().ToArray(), f32.Weight.ToArray());
        Assert.Equal(DType.BF16, bf16.Weight.DType);
        Assert.Equal(q.Weight.Dequantize().To(DType.BF16).ToArray(), bf16.Weight.ToArray());
        Assert.Equal(q.Bias!.ToArray(), f32.Bias!.ToArray());
        Assert.False(f32.Weight.RequiresGrad);
    }

    [Fact]
    public void MergedWeightReproducesTheAdaptedLayerAndReportsItsRequantisationError()
    {
        var rng = new Random(2);
        var lora = new LoraLinear(Linear4bit.Quantize(Tensor.Randn(rng, 0.05f, 48, 128), null, QuantType.Nf4, doubleQuant: true), new AdapterDropout(), 0);
        lora.AddAdapter("default", 8, 16f / 8, 0f, LoraInit.Default, rng);
        var b = lora.LoraB["default"].Weight;
        Tensor.Randn(rng, 0.02f, 48, 8).Span.CopyTo(b.Span);                  // as if trained
        var x = Tensor.Randn(rng, 1f, 5, 128);
        Tensor expected;
        using (GradMode.NoGrad()) expected = lora.Forward(x);

        // W' = dequant(W) + s·B·A
        var baseLayer = (Linear4bit)lora.BaseLayer;
        Tensor merged;
        using (GradMode.NoGrad())
            merged = Ops.Add(ModelQuantizer.Dequantize(baseLayer).Weight, Ops.Scale(Ops.MatMul(b, lora.LoraA["default"].Weight), lora.Scaling("default")));
        Tensor y32, y16;
        using (GradMode.NoGrad())
        {
            y32 = Ops.Linear(x, merged);
            y16 = Ops.Linear(x, merged.To(DType.BF16));
        }
        Close.Assert(expected, y32, rtol: 1e-4f, atol: 1e-5f, what: "fp32 merge");
        Close.Assert(expected, y16, rtol: 2e-2f, atol: 2e-2f, what: "bf16 export");

        var error = RequantizationError.Measure("q_proj", merged, baseLayer.Weight);
        // by hand: quantise W' the same way (NF4, block 64, double quant) and compare element by element
        var w = merged.ToArray();
        var back = QuantizedTensor.Quantize(merged, QuantType.Nf4, 64, doubleQuant: true).Dequantize().ToArray();
        double mean = w.Zip(back, (u, v) => Math.Abs((double)u - v)).Average();
        double max = w.Zip(back, (u, v) => Math.Abs((double)u - v)).Max();
        Assert.Equal(48 * 128, error.Count);
        Assert.Equal(mean, error.MeanAbs, 12);
        Assert.Equal(max, error.MaxAbs, 12);
        Assert.InRange(error.Relative, 0.03, 0.2);                             // NF4 on N(0, σ²): mean error ≈ 0.073·absmax ≈ 0.09·E|w|

        // The unmerged base weight is on the grid already: re-quantising it is (nearly) exact.
        var onGrid = RequantizationError.Measure("base", baseLayer.Weight.Dequantize(), baseLayer.Weight);
        Assert.True(onGrid.MeanAbs < error.MeanAbs / 10, $"base re-quantisation error {onGrid.MeanAbs} vs merged {error.MeanAbs}");

        var total = RequantizationError.Combine("model", [error, onGrid]);
        Assert.Equal(2 * 48 * 128, total.Count);
        Assert.Equal((error.MeanAbs + onGrid.MeanAbs) / 2, total.MeanAbs, 12);
        Assert.Equal(error.MaxAbs, total.MaxAbs);
    }
}
