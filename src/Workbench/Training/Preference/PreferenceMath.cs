namespace Workbench.Training.Preference;

/// <summary>The numerically stable pieces the losses share.</summary>
public static class PreferenceMath
{
    /// <summary>log σ(x) = −softplus(−x) = −(max(−x, 0) + log1p(e^−|x|)).</summary>
    public static double LogSigmoid(double x) => -(Math.Max(-x, 0) + Log1p(Math.Exp(-Math.Abs(x))));

    /// <summary>σ(x) = 1/(1 + e^−x), from the side where the exponential cannot overflow.</summary>
    public static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    /// <summary>log(1 − e^x) for x &lt; 0, branching at −ln 2 as TRL's <c>log1mexp</c> does to avoid cancellation.</summary>
    public static double Log1mExp(double x) => x < -0.6931471805599453 ? Log1p(-Math.Exp(x)) : Math.Log(-Expm1(x));

    /// <summary>log(1 + x) accurate near 0 (Goldberg): log(u)·x/(u − 1) with u = 1 + x rounded.</summary>
    public static double Log1p(double x)
    {
        double u = 1 + x;
        return u == 1 ? x : Math.Log(u) * x / (u - 1);
    }

    /// <summary>e^x − 1 accurate near 0 (Kahan): (u − 1)·x/log(u) with u = e^x rounded.</summary>
    public static double Expm1(double x)
    {
        double u = Math.Exp(x);
        return u == 1 ? x : u - 1 == -1 ? -1 : (u - 1) * x / Math.Log(u);
    }
}
