using Workbench.Engine;
using Workbench.Quantization;
using Workbench.Tests.Support;

namespace Workbench.Tests.Quantization;

public class DoubleQuantTests
{
    [Fact]
    public void NestedAbsmaxIsByteIdenticalToBitsandbytesLayout()
    {
        var f = Fixtures.Load("quant/double_quant.safetensors");
        var state = Fixtures.Load("quant/state_nf4_dq.safetensors");
        var q = QuantizedTensor.Quantize(f["w"], QuantType.Nf4, 64, doubleQuant: true);

        Assert.Equal(261, q.Blocks);
        Assert.Equal(((U8Storage)state["weight"].Storage).Data, q.Codes);
        Assert.Equal(((U8Storage)state["weight.absmax"].Storage).Data, q.Nested!.Codes);
        Assert.Equal(state["weight.nested_absmax"].ToArray(), q.Nested.Absmax);   // two nested blocks: 256 + 5
        Assert.Equal(state["weight.nested_quant_map"].ToArray(), q.Nested.Book.Values);

        // offset: the double-precision mean rounded once; torch's fp32 mean agrees to an ulp
        Close.Assert(f["torch_mean"].ToArray(), [q.Nested.Offset], rtol: 2.5e-7f, atol: 0, what: "offset vs torch absmax.mean()");

        var scales = new float[q.Blocks];
        q.BlockScales(0, scales);
        Assert.Equal(f["absmax_dq"].ToArray(), scales);
        Assert.Equal(f["dequant"].ToArray(), q.Dequantize().ToArray());
        // the decoded absmax is within half the dynamic map's widest gap (0.9/64 near ±1) times the nested absmax
        Close.Assert(f["absmax"].ToArray(), scales, rtol: 0, atol: 0.9f / 128 * q.Nested.Absmax.Max() * 1.001f, what: "double-quantised absmax");
    }

    [Fact]
    public void ExpandingSlicesOfAnySizeMatchesExpandingAll()
    {
        var q = QuantizedTensor.Quantize(Tensor.Randn(new Random(5), 1f, 700, 64), QuantType.Nf4, 64, doubleQuant: true);
        var all = new float[q.Blocks];
        q.BlockScales(0, all);
        // long slices take the vector kernel, the GEMM's few-block reads the scalar definition: the same bits
        foreach (var (first, count) in new[] { (250, 300), (250, 16), (255, 2), (0, 1), (699, 1), (512, 17) })
        {
            var part = new float[count];
            q.BlockScales(first, part);
            Assert.Equal(all.AsSpan(first, count).ToArray(), part);
        }
    }

    [Theory]
    [InlineData(QuantType.Nf4, 64, false, 4.5)]
    [InlineData(QuantType.Fp4, 128, false, 4.25)]
    [InlineData(QuantType.Int8, 64, false, 8.5)]
    public void BitsPerParameterWithoutDoubleQuant(QuantType type, int blockSize, bool dq, double expected)
    {
        var q = QuantizedTensor.Quantize(Tensor.Zeros(64 * 256 * 4), type, blockSize, dq);
        Assert.Equal(expected, q.BitsPerParameter, 12);
    }

    [Fact]
    public void DoubleQuantCostsAbout4Point127Bits()
    {
        int n = 64 * 256 * 16;
        var q = QuantizedTensor.Quantize(Tensor.Randn(new Random(1), 1f, n), QuantType.Nf4, 64, doubleQuant: true);
        // 4 + 8/64 + 32/(64·256) + one 32-bit offset
        Assert.Equal(4 + 8.0 / 64 + 32.0 / (64 * 256) + 32.0 / n, q.BitsPerParameter, 12);
        Assert.InRange(q.BitsPerParameter, 4.126, 4.128);
    }
}
