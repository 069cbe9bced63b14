namespace Workbench.Training.Preference;

/// <summary>
/// A preference loss as a function of per-sequence sums of completion-token log-probabilities (what
/// <c>ITrainableLM.CompletionLogProbs</c> returns): its value and its derivative with respect to each sum, side by side,
/// plus TRL's metrics. Everything is plain arithmetic on B pairs; <c>tests/fixtures/make_preference.py</c> holds the same
/// formulas in PyTorch as TRL writes them.
/// </summary>
public interface IPreferenceLoss
{
    /// <summary>DPO and IPO compare with a reference model; ORPO does not.</summary>
    bool NeedsReference { get; }

    /// <summary>ORPO's NLL term reads the chosen rows' whole sequence (prompt included, as TRL's ORPO does).</summary>
    bool NeedsChosenSequence { get; }

    PreferenceLossResult Compute(PreferenceRows rows);
}

/// <summary>
/// One micro-batch of B pairs: the policy's sums logp and token counts n of the chosen and rejected completions, the
/// reference's sums (null without a reference), and for ORPO the chosen rows' sums over every token but the first.
/// </summary>
public sealed record PreferenceRows(
    double[] Chosen, double[] Rejected, int[] ChosenTokens, int[] RejectedTokens,
    double[]? ReferenceChosen = null, double[]? ReferenceRejected = null,
    double[]? ChosenSequence = null, int[]? ChosenSequenceTokens = null)
{
    public int Pairs => Chosen.Length;

    /// <summary>The reference's sums, which <paramref name="loss"/> cannot do without.</summary>
    public (double[] Chosen, double[] Rejected) Reference(string loss) =>
        ReferenceChosen is { } c && ReferenceRejected is { } r ? (c, r) : throw new ArgumentException($"{loss}: reference log-probs are required");
}

/// <summary>The mean loss over the pairs, dL/dlogp for each row sum the loss read, and TRL's metrics by TRL's names.</summary>
public sealed record PreferenceLossResult(double Loss, double[] DChosen, double[] DRejected, double[]? DChosenSequence,
    IReadOnlyDictionary<string, double> Metrics);

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

/// <summary>TRL's reward metrics of B pairs, means over the pairs.</summary>
public static class RewardMetrics
{
    /// <summary>
    /// rewards/chosen, rewards/rejected, rewards/accuracies (the fraction with r⁺ &gt; r⁻), rewards/margins (r⁺ − r⁻),
    /// logps/chosen and logps/rejected (the policy's log-probabilities the loss read).
    /// </summary>
    public static Dictionary<string, double> Of(double[] chosenRewards, double[] rejectedRewards, double[] chosenLogps, double[] rejectedLogps) => new()
    {
        ["rewards/chosen"] = chosenRewards.Average(),
        ["rewards/rejected"] = rejectedRewards.Average(),
        ["rewards/accuracies"] = chosenRewards.Zip(rejectedRewards, (c, r) => c > r ? 1.0 : 0.0).Average(),
        ["rewards/margins"] = chosenRewards.Zip(rejectedRewards, (c, r) => c - r).Average(),
        ["logps/chosen"] = chosenLogps.Average(),
        ["logps/rejected"] = rejectedLogps.Average(),
    };
}
