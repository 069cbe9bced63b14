namespace Workbench.Training.Preference;

/// <summary>
/// DPO's sigmoid loss with conservative label smoothing ε (TRL 0.28.0 <c>DPOTrainer.dpo_loss</c>, <c>loss_type="sigmoid"</c>):
/// with z = β[(logp⁺ − ref⁺) − (logp⁻ − ref⁻)], ℓ = −(1 − ε)·log σ(z) − ε·log σ(−z), averaged over the pairs. ε = 0 is the
/// paper's loss; at z = 0 (the adapter at its initial value) ℓ = ln 2. Rewards are β(logp − ref).
/// </summary>
public sealed class DpoLoss(double beta, double labelSmoothing) : IPreferenceLoss
{
    public bool NeedsReference => true;
    public bool NeedsChosenSequence => false;

    public PreferenceLossResult Compute(PreferenceRows rows)
    {
        int b = rows.Pairs;
        var (refChosen, refRejected) = rows.Reference("DpoLoss");
        var chosenRewards = new double[b];
        var rejectedRewards = new double[b];
        var dChosen = new double[b];
        var dRejected = new double[b];
        double loss = 0;
        for (int i = 0; i < b; i++)
        {
            chosenRewards[i] = beta * (rows.Chosen[i] - refChosen[i]);
            rejectedRewards[i] = beta * (rows.Rejected[i] - refRejected[i]);
            double z = chosenRewards[i] - rejectedRewards[i];
            // ℓ = −(1 − ε)·log σ(z) − ε·log σ(−z)
            loss += (-(1 - labelSmoothing) * PreferenceMath.LogSigmoid(z) - labelSmoothing * PreferenceMath.LogSigmoid(-z)) / b;
            // dℓ/dz = σ(z) − (1 − ε); dz/dlogp⁺ = β, dz/dlogp⁻ = −β
            double dz = (PreferenceMath.Sigmoid(z) - (1 - labelSmoothing)) / b;
            dChosen[i] = beta * dz;
            dRejected[i] = -beta * dz;
        }
        return new PreferenceLossResult(loss, dChosen, dRejected, null,
            RewardMetrics.Of(chosenRewards, rejectedRewards, rows.Chosen, rows.Rejected));
    }
}
