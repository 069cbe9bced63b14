using Workbench.Engine;
using Workbench.Quantization;
using Workbench.Tests.Support;

namespace Workbench.Tests.Quantization;

public class BlockwiseTests
{
    public static TheoryData<string, string, int> FixtureCases()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var x in new[] { "x", "odd" })
            foreach (var type in new[] { "nf4", "fp4" })
                foreach (var bs in new[] { 64, 128 })
                    data.Add(x, type, bs);
        return data;
    }

    [Theory]
    [MemberData(nameof(FixtureCases))]
    public void PackingAndAbsmaxAreByteIdenticalToBitsandbytes(string input, string type, int blockSize)
    {
        var f = Fixtures.Load("quant/blockwise.safetensors");
        var x = f[input].ToArray();
        string key = $"{input}.{type}.{blockSize}";
        var expectedCodes = ((U8Storage)f[key + ".packed"].Storage).Data;
        var expectedAbsmax = f[key + ".absmax"].ToArray();
        var book = QuantTypes.Parse(type).Book();

        foreach (var fast in new[] { false, true })
        {
            var codes = new byte[QuantizeKernel.CodeBytes(x.Length, 4)];
            var absmax = new float[QuantizeKernel.BlockCount(x.Length, blockSize)];
            if (fast) QuantizeKernel.Fast(x, book, blockSize, codes, absmax);
            else QuantizeKernel.Reference(x, book, blockSize, codes, absmax);
            Assert.Equal(expectedCodes, codes);
            Assert.Equal(expectedAbsmax, absmax);
        }

        var q = QuantizedTensor.Quantize(f[input], QuantTypes.Parse(type), blockSize);
        Assert.Equal(f[input].Shape, q.Shape);
        Assert.Equal(f[key + ".dequant"].ToArray(), q.Dequantize().ToArray());
    }

    [Theory]
    [InlineData(QuantType.Nf4)]
    [InlineData(QuantType.Fp4)]
    [InlineData(QuantType.Int4)]
    [InlineData(QuantType.Int8)]
    public void FastKernelsMatchReferenceBitForBit(QuantType type)
    {
        var book = type.Book();
        var rng = new Random(11);
        foreach (int blockSize in new[] { 32, 64, 128, 256, 1024, 4096 })
        {
            // partial last block, an odd count, an all-zero block, exact codes and midpoints as values
            int n = 3 * blockSize + 37;
            var x = Tensor.Randn(rng, 1.5f, n).ToArray();
            Array.Clear(x, blockSize, blockSize);
            for (int k = 0; k < book.Values.Length && 2 * blockSize + 2 * k + 1 < 3 * blockSize; k++)
            {
                x[2 * blockSize + 2 * k] = book.Values[k] * 3f;
                x[2 * blockSize + 2 * k + 1] = k + 1 < book.Values.Length ? (book.Values[k] + book.Values[k + 1]) / 2 * 3f : 3f;
            }
            var codesRef = new byte[QuantizeKernel.CodeBytes(n, book.Bits)];
            var codesFast = new byte[codesRef.Length];
            var absRef = new float[QuantizeKernel.BlockCount(n, blockSize)];
            var absFast = new float[absRef.Length];
            QuantizeKernel.Reference(x, book, blockSize, codesRef, absRef);
            QuantizeKernel.Fast(x, book, blockSize, codesFast, absFast);
            Assert.Equal(absRef, absFast);
            Assert.Equal(codesRef, codesFast);

            // dequantise every range shape: whole tensor, odd start, inside one block, across blocks
            foreach (var (start, count) in new[] { (0, n), (1, n - 1), (3, 20), (blockSize - 5, blockSize + 41), (n - 1, 1) })
            {
                int first = start / blockSize, blocks = (start + count - 1) / blockSize - first + 1;
                var scales = absRef.AsSpan(first, blocks).ToArray();
                var a = new float[count];
                var b = new float[count];
                DequantizeKernel.Reference(codesRef, scales, book, blockSize, start, a);
                DequantizeKernel.Fast(codesRef, scales, book, blockSize, start, b);
                Assert.Equal(a, b);
            }
        }
    }

    [Fact]
    public void ZeroBlockDequantisesToZero()
    {
        var q = QuantizedTensor.Quantize(Tensor.Zeros(2, 64), QuantType.Nf4);
        Assert.All(q.Dequantize().ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void BadBlockSizeIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => QuantizedTensor.Quantize(Tensor.Zeros(128), QuantType.Nf4, 48));
        Assert.Contains("48", e.Message);
        Assert.Throws<ArgumentException>(() => QuantizedTensor.Quantize(Tensor.Zeros(128), QuantType.Nf4, 8192));
    }
}
