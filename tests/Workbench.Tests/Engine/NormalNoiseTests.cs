using Workbench.Engine;

namespace Workbench.Tests.Engine;

public class NormalNoiseTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(20_001)]
    public void FastAgreesWithTheReference(int n)
    {
        var reference = new float[n];
        var fast = new float[n];
        NormalNoise.Reference(0x1234_5678_9ABC_DEF0, 0.5f, reference);
        NormalNoise.Fast(0x1234_5678_9ABC_DEF0, 0.5f, fast);
        // the vector log, sine and cosine are not MathF's: a few fp32 ulps of values up to ~3
        for (int i = 0; i < n; i++) Assert.True(MathF.Abs(reference[i] - fast[i]) <= 1e-6f + 1e-6f * MathF.Abs(reference[i]), $"element {i}: {reference[i]} vs {fast[i]}");
    }

    [Fact]
    public void ValuesDependOnlyOnTheKeyAndTheIndex()
    {
        var all = new float[100_000];
        NormalNoise.Fast(99, 1f, all);
        var prefix = new float[30_001];                                    // other chunks, split otherwise across cores
        NormalNoise.Fast(99, 1f, prefix);
        Assert.Equal(all.AsSpan(0, prefix.Length).ToArray(), prefix);
        var other = new float[100];
        NormalNoise.Fast(100, 1f, other);
        Assert.NotEqual(all.AsSpan(0, 100).ToArray(), other);
    }

    /// <summary>Mean, variance and tail mass of 10⁶ draws, each within 5 standard errors of N(0, 1)'s.</summary>
    [Fact]
    public void ValuesAreStandardNormal()
    {
        const int n = 1_000_000;
        var x = new float[n];
        NormalNoise.Fast(7, 1f, x);
        double mean = x.Average(v => (double)v), variance = x.Average(v => (double)v * v) - mean * mean;
        double beyond2 = x.Count(v => MathF.Abs(v) > 2f) / (double)n;             // P(|z| > 2) = 0.0455
        Assert.InRange(mean, -5 / Math.Sqrt(n), 5 / Math.Sqrt(n));
        Assert.InRange(variance, 1 - 5 * Math.Sqrt(2.0 / n), 1 + 5 * Math.Sqrt(2.0 / n));
        Assert.InRange(beyond2, 0.0455 - 5 * Math.Sqrt(0.0455 * 0.9545 / n), 0.0455 + 5 * Math.Sqrt(0.0455 * 0.9545 / n));
    }
}
