namespace Workbench.Evaluation;

/// <summary>The Wilson score interval for a binomial proportion (better than p ± z·√(p(1−p)/n) near 0, 1 and for small n).</summary>
public static class Wilson
{
    /// <summary>z for a two-sided 95% interval: Φ⁻¹(0.975).</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>
    /// (p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n), with p̂ = successes/n; (0, 1) when n = 0.
    /// </summary>
    public static (double Low, double High) Interval(int successes, int n, double z = Z95)
    {
        if (n < 0 || successes < 0 || successes > n) throw new ArgumentOutOfRangeException(nameof(successes), $"Wilson: {successes} successes of {n}");
        if (n == 0) return (0, 1);
        double p = (double)successes / n, z2 = z * z;
        double denominator = 1 + z2 / n;
        double center = (p + z2 / (2 * n)) / denominator;
        double half = z / denominator * Math.Sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
        // at k = 0 and k = n the bound is exactly 0 or 1; the formula leaves rounding noise there
        return (successes == 0 ? 0 : center - half, successes == n ? 1 : center + half);
    }
}
