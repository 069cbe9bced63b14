using Workbench.Engine;
using Workbench.Tests.Support;

namespace Workbench.Tests.Engine;

public class RopeTests
{
    private static readonly Dictionary<string, Tensor> F = Fixtures.Load("layers/rope.safetensors");

    [Fact]
    public void TablesMatchTransformersAtFarPositions()
    {
        var cache = new RopeCache(64, 64, 10000f, 4096);
        var positions = F["table_positions"].ToArray();
        var cos = new float[positions.Length * 32];
        var sin = new float[positions.Length * 32];
        for (int r = 0; r < positions.Length; r++)
        {
            cache.Cos.AsSpan((int)positions[r] * 32, 32).CopyTo(cos.AsSpan(r * 32));
            cache.Sin.AsSpan((int)positions[r] * 32, 32).CopyTo(sin.AsSpan(r * 32));
        }
        // Same float32 angles as transformers: only the last bit of cos/sin may differ.
        Close.Assert(F["table_cos"].ToArray(), cos, 0, 1e-6f, "cos table");
        Close.Assert(F["table_sin"].ToArray(), sin, 0, 1e-6f, "sin table");
    }

    [Theory]
    [InlineData("llama3", 128, 500000f, 131072)]   // Llama 3.1 8B: factor 8, low 1, high 4, original 8192
    [InlineData("linear", 64, 10000f, 4096)]       // factor 4
    public void ScaledFrequenciesAndTablesMatchTransformers(string name, int rotaryDim, float theta, int maxPositions)
    {
        var scaling = name == "llama3" ? new RopeScaling(RopeScalingType.Llama3, 8f, 1f, 4f, 8192) : new RopeScaling(RopeScalingType.Linear, 4f);
        var cache = new RopeCache(rotaryDim, rotaryDim, theta, maxPositions, scaling);
        Close.Assert(F[$"{name}_inv_freq"].ToArray(), cache.InverseFrequencies, 0, 0, "inverse frequencies");   // bit for bit
        int half = rotaryDim / 2;
        var positions = F[$"{name}_positions"].ToArray();
        var cos = positions.SelectMany(p => cache.Cos.AsSpan((int)p * half, half).ToArray()).ToArray();
        var sin = positions.SelectMany(p => cache.Sin.AsSpan((int)p * half, half).ToArray()).ToArray();
        Close.Assert(F[$"{name}_cos"].ToArray(), cos, 0, 1e-6f, "cos table");
        Close.Assert(F[$"{name}_sin"].ToArray(), sin, 0, 1e-6f, "sin table");
    }

    [Fact]
    public void Llama3KeepsShortWavelengthsAndStretchesLongOnes()
    {
        var plain = new RopeCache(128, 128, 500000f, 16).InverseFrequencies;
        var scaled = new RopeCache(128, 128, 500000f, 16, new RopeScaling(RopeScalingType.Llama3, 8f, 1f, 4f, 8192)).InverseFrequencies;
        for (int i = 0; i < plain.Length; i++)
        {
            double wavelen = 2 * Math.PI / plain[i];
            if (wavelen < 8192 / 4.0) Assert.Equal(plain[i], scaled[i]);                 // under 2048 tokens a turn: kept
            else if (wavelen > 8192) Assert.Equal(plain[i] / 8f, scaled[i]);             // beyond the old context: / factor
            else Assert.InRange(scaled[i], plain[i] / 8f, plain[i]);                      // between: a blend
        }
    }

    [Theory]
    [InlineData("partial", 16, 8, 10000f, 3)]
    [InlineData("full", 8, 8, 500000f, 0)]
    public void ForwardAndBackwardMatchTorch(string name, int headDim, int rotaryDim, float theta, int start)
    {
        var cache = new RopeCache(headDim, rotaryDim, theta, 16);
        var x = F[$"{name}_x"];
        x.RequiresGrad = true;
        var y = x.Rope(cache, start);
        Close.Assert(F[$"{name}_y"], y, 1e-6f, 1e-6f, "rope output");
        y.Backward(F[$"{name}_gy"]);
        Close.Assert(F[$"{name}_dx"], x.Grad!, 1e-6f, 1e-6f, "rope input gradient");
    }

    [Fact]
    public void GradientMatchesFiniteDifferences()
    {
        var cache = new RopeCache(6, 4, 100f, 10);
        var x = Tensor.Randn(new Random(1), 1f, 2, 1, 3, 6);
        FiniteDifference.Check(t => t[0].Rope(cache, startPosition: 5), [x], eps: 1e-2f, rtol: 1e-2f, atol: 1e-3f);
    }

    [Fact]
    public void FastKernelMatchesReference()
    {
        // half = 20: two 8-lane blocks and a scalar tail, plus 6 pass-through features.
        var cache = new RopeCache(46, 40, 10000f, 64);
        var x = Tensor.Randn(new Random(2), 1f, 3, 5, 7, 46).Span.ToArray();
        int[] positions = [0, 9, 3, 63, 17, 1, 40];
        foreach (var sign in new[] { 1f, -1f })
        {
            var expected = new float[x.Length];
            var actual = new float[x.Length];
            RopeKernel.Reference(x, cache, positions, expected, sign);
            RopeKernel.Fast(x, cache, positions, actual, sign);
            Close.Assert(expected, actual, 0, 0, $"rope kernels, sign {sign}");
        }
        // Forward then backward is the identity on the rotary part (the rotation is orthogonal).
        var there = new float[x.Length];
        var back = new float[x.Length];
        RopeKernel.Fast(x, cache, positions, there, 1f);
        RopeKernel.Fast(there, cache, positions, back, -1f);
        Close.Assert(x, back, 1e-5f, 1e-6f, "inverse rotation");
    }

    [Fact]
    public void ExplicitPositionsAndStridedInputAgreeWithTheContiguousCall()
    {
        var cache = new RopeCache(8, 4, 10000f, 32);
        var bthd = Tensor.Randn(new Random(3), 1f, 2, 3, 4, 8);              // [B, T, H, D]
        var strided = bthd.Transpose(1, 2);                                   // [B, H, T, D] view
        var expected = strided.Contiguous().Rope(cache, 10);
        Close.Assert(expected, strided.Rope(cache, [10, 11, 12]), 0, 0, "strided input");
        var ex = Assert.Throws<ShapeException>(() => strided.Rope(cache, 30));
        Assert.Contains("position 32", ex.Message);
    }
}
