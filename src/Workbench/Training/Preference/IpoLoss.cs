namespace Workbench.Training.Preference;

/// <summary>
/// IPO (TRL 0.28.0, <c>loss_type="ipo"</c>): log-probabilities averaged over each completion's tokens, a = logp/n for the
/// policy and the reference alike (TRL divides both by the completion mask's sum); with
/// h = (a⁺ − a_ref⁺) − (a⁻ − a_ref⁻), ℓ = (h − 1/(2β))², averaged over the pairs. β is the paper's τ. Rewards are
/// β(a − a_ref) and logps/* the averaged log-probabilities, as TRL logs them for IPO.
/// </summary>
public sealed class IpoLoss(double beta) : IPreferenceLoss
{
    public bool NeedsReference => true;
    public bool NeedsChosenSequence => false;

    public PreferenceLossResult Compute(PreferenceRows rows)
    {
        int b = rows.Pairs;
        var (refChosen, refRejected) = rows.Reference("IpoLoss");
        var chosenAvg = new double[b];
        var rejectedAvg = new double[b];
        var chosenRewards = new double[b];
        var rejectedRewards = new double[b];
        var dChosen = new double[b];
        var dRejected = new double[b];
        double loss = 0;
        for (int i = 0; i < b; i++)
        {
            int nc = rows.ChosenTokens[i], nr = rows.RejectedTokens[i];
            chosenAvg[i] = rows.Chosen[i] / nc;
            rejectedAvg[i] = rows.Rejected[i] / nr;
            double chosenRatio = chosenAvg[i] - refChosen[i] / nc, rejectedRatio = rejectedAvg[i] - refRejected[i] / nr;
            chosenRewards[i] = beta * chosenRatio;
            rejectedRewards[i] = beta * rejectedRatio;
            // ℓ = (h − 1/(2β))², h = (a⁺ − a_ref⁺) − (a⁻ − a_ref⁻)
            double gap = chosenRatio - rejectedRatio - 1 / (2 * beta);
            loss += gap * gap / b;
            // dℓ/dh = 2(h − 1/(2β)); dh/dlogp⁺ = 1/n⁺, dh/dlogp⁻ = −1/n⁻
            dChosen[i] = 2 * gap / nc / b;
            dRejected[i] = -2 * gap / nr / b;
        }
        return new PreferenceLossResult(loss, dChosen, dRejected, null, RewardMetrics.Of(chosenRewards, rejectedRewards, chosenAvg, rejectedAvg));
    }
}
