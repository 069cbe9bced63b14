using Workbench.Evaluation;

namespace Workbench.Training.Preference;

/// <summary>
/// A preference loss and TRL's metrics over held-out pairs, from the tuned model's and the reference's sums
/// (<see cref="PreferenceScorer"/>): what TRL logs as <c>eval_rewards/accuracies</c>, <c>eval_rewards/margins</c>, ....
/// </summary>
public static class HeldOutPreferences
{
    /// <param name="reference">The reference's sums (the base model); null for ORPO, which has none.</param>
    public static PreferenceLossResult Evaluate(IPreferenceLoss loss, IReadOnlyList<PairLogProbs> policy, IReadOnlyList<PairLogProbs>? reference)
    {
        if (loss.NeedsReference && reference is null) throw new ArgumentException("HeldOutPreferences: this loss compares with a reference; score the pairs with the base model too");
        return loss.Compute(new PreferenceRows(
            policy.Select(p => p.Chosen).ToArray(), policy.Select(p => p.Rejected).ToArray(),
            policy.Select(p => p.ChosenTokens).ToArray(), policy.Select(p => p.RejectedTokens).ToArray(),
            reference?.Select(p => p.Chosen).ToArray(), reference?.Select(p => p.Rejected).ToArray(),
            policy.Select(p => p.ChosenSequence).ToArray(), policy.Select(p => p.ChosenSequenceTokens).ToArray()));
    }
}
