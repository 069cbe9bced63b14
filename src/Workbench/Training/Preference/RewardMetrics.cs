namespace Workbench.Training.Preference;

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
