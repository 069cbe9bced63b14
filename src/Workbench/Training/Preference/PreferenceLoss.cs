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
