namespace Workbench.Training.Preference;

/// <summary>
/// ORPO, reference-free (TRL 0.28.0 <c>trl.experimental.orpo</c>, <c>odds_ratio_loss</c> and <c>get_batch_loss_metrics</c>):
/// ℓ = logp/n, the completion's average log-probability; log_odds = (ℓ⁺ − ℓ⁻) − (log(1 − e^ℓ⁺) − log(1 − e^ℓ⁻));
/// loss = NLL − β·mean(log σ(log_odds)), where NLL is the mean token cross-entropy of the chosen rows over every token
/// after the first, prompt included, as TRL's ORPO computes it. β is the paper's λ. Rewards are βℓ; TRL logs
/// log_odds_ratio = mean(log σ(log_odds)) and log_odds_chosen = mean(log_odds).
/// </summary>
public sealed class OrpoLoss(double beta) : IPreferenceLoss
{
    public bool NeedsReference => false;
    public bool NeedsChosenSequence => true;

    public PreferenceLossResult Compute(PreferenceRows rows)
    {
        int b = rows.Pairs;
        var sequence = rows.ChosenSequence ?? throw new ArgumentException("OrpoLoss: the chosen rows' sequence log-probs are required");
        var sequenceTokens = rows.ChosenSequenceTokens ?? throw new ArgumentException("OrpoLoss: the chosen rows' sequence token counts are required");
        // NLL = −Σ_b logp_seq_b / Σ_b n_seq_b: dNLL/dlogp_seq_b = −1/Σn
        double totalTokens = sequenceTokens.Sum();
        double nll = -sequence.Sum() / totalTokens;
        var dSequence = Enumerable.Repeat(-1 / totalTokens, b).ToArray();

        var chosenAvg = new double[b];
        var rejectedAvg = new double[b];
        var dChosen = new double[b];
        var dRejected = new double[b];
        double ratioSum = 0, logOddsSum = 0;
        for (int i = 0; i < b; i++)
        {
            int nc = rows.ChosenTokens[i], nr = rows.RejectedTokens[i];
            double lc = chosenAvg[i] = rows.Chosen[i] / nc, lr = rejectedAvg[i] = rows.Rejected[i] / nr;
            // log_odds = (ℓ⁺ − ℓ⁻) − (log(1 − e^ℓ⁺) − log(1 − e^ℓ⁻))
            double logOdds = lc - lr - (PreferenceMath.Log1mExp(lc) - PreferenceMath.Log1mExp(lr));
            ratioSum += PreferenceMath.LogSigmoid(logOdds);
            logOddsSum += logOdds;
            // d(−β·log σ(lo)/B)/dlo = −β(1 − σ(lo))/B; dlo/dℓ⁺ = 1/(1 − e^ℓ⁺) = −1/expm1(ℓ⁺), dlo/dℓ⁻ = 1/expm1(ℓ⁻); dℓ/dlogp = 1/n
            double dLogOdds = -beta * (1 - PreferenceMath.Sigmoid(logOdds)) / b;
            dChosen[i] = dLogOdds * (-1 / PreferenceMath.Expm1(lc)) / nc;
            dRejected[i] = dLogOdds * (1 / PreferenceMath.Expm1(lr)) / nr;
        }
        double loss = nll - beta * ratioSum / b;
        var metrics = RewardMetrics.Of(chosenAvg.Select(l => beta * l).ToArray(), rejectedAvg.Select(l => beta * l).ToArray(), chosenAvg, rejectedAvg);
        metrics["nll_loss"] = nll;
        metrics["log_odds_ratio"] = ratioSum / b;
        metrics["log_odds_chosen"] = logOddsSum / b;
        return new PreferenceLossResult(loss, dChosen, dRejected, dSequence, metrics);
    }
}
