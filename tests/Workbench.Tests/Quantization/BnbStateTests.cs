using System.Text;
using Workbench.Engine;
using Workbench.Quantization;
using Workbench.Tests.Support;

namespace Workbench.Tests.Quantization;

public class BnbStateTests
{
    [Fact]
    public void SerialisedStateIsByteIdenticalToTransformersLayout()
    {
        var expected = Fixtures.Load("quant/state_nf4_dq.safetensors");
        var w = Fixtures.Load("quant/double_quant.safetensors")["w"];
        var actual = BnbState.ToTensors(QuantizedTensor.Quantize(w, QuantType.Nf4, 64, doubleQuant: true));

        Assert.Equal(expected.Keys.OrderBy(k => k), actual.Keys.OrderBy(k => k));
        foreach (var (name, e) in expected)
        {
            var a = actual[name];
            Assert.True(e.Shape.SequenceEqual(a.Shape), $"{name}: shape {Shape.Format(a.Shape)}, expected {Shape.Format(e.Shape)}");
            Assert.True(e.DType == a.DType, $"{name}: {a.DType}, expected {e.DType}");
            if (e.DType == DType.U8) Assert.Equal(((U8Storage)e.Storage).Data, ((U8Storage)a.Storage).Data);
            else Assert.Equal(e.ToArray(), a.ToArray());
        }
        var json = Encoding.UTF8.GetString(((U8Storage)actual["weight.quant_state.bitsandbytes__nf4"].Storage).Data);
        Assert.StartsWith("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [139, 120], \"nested_blocksize\": 256", json);
    }

    [Fact]
    public void LoadedStateDequantisesLikeBitsandbytes()
    {
        var q = BnbState.FromTensors(Fixtures.Load("quant/state_nf4_dq.safetensors"));
        Assert.Equal(QuantType.Nf4, q.Type);
        Assert.Equal([139, 120], q.Shape);
        Assert.Equal(64, q.BlockSize);
        Assert.Equal(Fixtures.Load("quant/double_quant.safetensors")["dequant"].ToArray(), q.Dequantize().ToArray());
    }

    [Fact]
    public void SingleLevelStateRoundTrips()
    {
        var x = Tensor.Randn(new Random(2), 0.02f, 33, 10);    // 330 values: partial last block
        var q = QuantizedTensor.Quantize(x, QuantType.Fp4, 128);
        var tensors = BnbState.ToTensors(q, "model.layers.0.mlp.up_proj.weight");
        Assert.Equal([165, 1], tensors["model.layers.0.mlp.up_proj.weight"].Shape);
        Assert.Equal(DType.F32, tensors["model.layers.0.mlp.up_proj.weight.absmax"].DType);
        Assert.False(tensors.ContainsKey("model.layers.0.mlp.up_proj.weight.nested_absmax"));
        var back = BnbState.FromTensors(tensors, "model.layers.0.mlp.up_proj.weight");
        Assert.Equal(q.Dequantize().ToArray(), back.Dequantize().ToArray());
        Assert.Throws<ArgumentException>(() => BnbState.ToTensors(QuantizedTensor.Quantize(x, QuantType.Int4)));
    }

    [Theory]
    [InlineData(0.5, "0.5")]
    [InlineData(1.0, "1.0")]
    [InlineData(-2.0, "-2.0")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001, "1e-05")]
    [InlineData(1.5e-7, "1.5e-07")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(123.456, "123.456")]
    public void FloatsAreWrittenAsPythonReprWritesThem(double value, string expected)
    {
        Assert.Equal(expected, BnbState.PythonRepr(value));
    }

    [Fact]
    public void Fp32OffsetIsWidenedToDoubleFirst()
    {
        // Python: float(torch.tensor(0.1).item()) -> 0.10000000149011612
        Assert.Equal("0.10000000149011612", BnbState.PythonRepr(0.1f));
    }
}
