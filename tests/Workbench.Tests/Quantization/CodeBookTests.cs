using Workbench.Quantization;
using Workbench.Tests.Support;

namespace Workbench.Tests.Quantization;

public class CodeBookTests
{
    [Fact]
    public void Nf4TableIsBitsandbytesAndIsRebuiltFromNormalQuantiles()
    {
        var tables = Fixtures.Load("quant/tables.safetensors");
        Assert.Equal(tables["nf4"].ToArray(), Nf4.Codes);
        var rebuilt = Nf4.CreateNormalMap();
        Assert.Equal(16, rebuilt.Length);
        Close.Assert(Nf4.Codes, rebuilt, rtol: 0, atol: 1e-7f, what: "NF4 from create_normal_map(0.9677083)");
        Assert.Equal(-1f, rebuilt[0]);
        Assert.Equal(0f, rebuilt[7]);
        Assert.Equal(1f, rebuilt[15]);
    }

    [Fact]
    public void Fp4TableFollowsBitPatterns()
    {
        var tables = Fixtures.Load("quant/tables.safetensors");
        Assert.Equal(tables["fp4"].ToArray(), Fp4.Codes);
        Assert.Equal(1f, Fp4.Codes[0b0011]);                 // 12/12
        Assert.Equal(0.0625f / 12f, Fp4.Codes[0b0001]);     // subnormal
        Assert.Equal(-0.5f, Fp4.Codes[0b1101]);             // sign bit + 6/12
        Assert.False(float.IsNegative(Fp4.Codes[0b1000]));  // index 8 is +0.0 in bitsandbytes
        Assert.False(Fp4.Book.IsAscending);
    }

    [Fact]
    public void DynamicMapMatchesBitsandbytesExactly()
    {
        var expected = Fixtures.Load("quant/tables.safetensors")["dynamic"].ToArray();
        var map = DynamicMap.Create();
        Assert.Equal(256, map.Length);
        for (int i = 0; i < 256; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(map[i]), $"dynamic[{i}] = {map[i]:R}, expected {expected[i]:R}");
        Assert.True(DynamicMap.Signed.IsAscending);
    }

    [Fact]
    public void TorchLinspaceKeepsTorchRounding()
    {
        // torch.linspace(0.1, 1, 17)[9] and [3]: the vector path and the fused scalar path round differently.
        var v = TorchLinspace.Create(0.1f, 1f, 17);
        Assert.Equal(0.1f, v[0]);
        Assert.Equal(1f, v[16]);
        Assert.Equal(0.606249988079071f, v[9]);          // torch.linspace(0.1, 1, 17)[9]
        var nine = TorchLinspace.Create(Nf4.DefaultOffset, 0.5f, 9);
        Assert.Equal(0.5f, nine[8]);
    }

    [Theory]
    [InlineData(0.5, 0.0)]
    [InlineData(0.975, 1.959963984540054)]
    [InlineData(0.025, -1.959963984540054)]
    [InlineData(0.9677083, 1.8481309597573734)]
    [InlineData(1e-10, -6.361340902404056)]
    public void InverseNormalCdfIsAccurate(double p, double x)
    {
        Assert.Equal(x, NormalDistribution.InverseCdf(p), p < 1e-6 ? 9 : 12);
    }

    [Fact]
    public void SymmetricIntegersAreKOverQmax()
    {
        Assert.Equal(15, SymmetricInt.Int4.Values.Length);
        Assert.Equal(-1f, SymmetricInt.Int4.Values[0]);
        Assert.Equal(0f, SymmetricInt.Int4.Values[7]);
        Assert.Equal(3f / 7f, SymmetricInt.Int4.Values[10]);
        Assert.Equal(255, SymmetricInt.Int8.Values.Length);
        Assert.Equal(0f, SymmetricInt.Int8.Values[127]);
        Assert.Equal(1f, SymmetricInt.Int8.Values[254]);
    }

    [Fact]
    public void BisectionFindsTheSameCodeAsTheLinearSearch()
    {
        var rng = new Random(3);
        foreach (var book in new[] { Nf4.Book, SymmetricInt.Int4, SymmetricInt.Int8, DynamicMap.Signed })
        {
            var probes = new List<float> { -1f, 1f, 0f, -0f, float.NaN };
            // every code, its fp32 neighbours and the midpoints between neighbours (the tie cases)
            for (int k = 0; k < book.Values.Length; k++)
            {
                float c = book.Values[k];
                probes.AddRange([c, MathF.BitIncrement(c), MathF.BitDecrement(c)]);
                if (k + 1 < book.Values.Length)
                {
                    float mid = (c + book.Values[k + 1]) / 2;
                    probes.AddRange([mid, MathF.BitIncrement(mid), MathF.BitDecrement(mid)]);
                }
            }
            for (int i = 0; i < 20000; i++) probes.Add((float)(rng.NextDouble() * 2 - 1));
            foreach (var s in probes)
            {
                float clamped = Math.Clamp(s, -1f, 1f);
                Assert.True(book.Nearest(clamped) == book.NearestAscending(clamped), $"{book.Name}: s = {clamped:R}");
            }
        }
    }
}
