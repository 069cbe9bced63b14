using Workbench.Backends;
using Workbench.Data;
using Workbench.Data.Preferences;

namespace Workbench.Training.Preference;

/// <summary>
/// Preference tuning as a <see cref="Trainer"/> objective. A micro-batch of B pairs is one call of the seam's
/// <see cref="ITrainableLM.CompletionLogProbs"/> on the rows [chosen; rejected] (ORPO: [chosen, all tokens; chosen;
/// rejected], its NLL reading the whole chosen sequence), right-padded like TRL's concatenated batch; the reference's sums
/// come from a second call with the adapters disabled, or from <see cref="PrecomputeReference"/>. The loss turns the sums
/// into a value and dL/dlogp, which go back through <see cref="ITrainableLM.BackwardCompletionLogProbs"/>. Token counts are
/// read from the labels. Pairs are visited in the same seeded order as fine-tuning examples (<see cref="MicroBatcher"/>).
/// </summary>
public sealed class PreferenceObjective : ITrainingObjective
{
    private readonly IReadOnlyList<PreferenceExample> pairs;
    private readonly IPreferenceLoss loss;
    private readonly int microBatchSize, padId;
    private readonly MicroBatcher order;
    private double[]? referenceChosen, referenceRejected;

    public PreferenceObjective(IReadOnlyList<PreferenceExample> pairs, IPreferenceLoss loss, int microBatchSize, int padId, int seed)
    {
        if (pairs.Count == 0) throw new ArgumentException("PreferenceObjective: no preference pairs");
        this.pairs = pairs;
        this.loss = loss;
        this.microBatchSize = microBatchSize;
        this.padId = padId;
        order = new MicroBatcher(pairs.Select(p => p.Chosen).ToList(), microBatchSize, padId, (ulong)seed);
    }

    public int BatchesPerEpoch => order.BatchesPerEpoch;

    public IEnumerable<IMicroBatch> Epoch(int epoch)
    {
        var visit = order.Order(epoch);
        for (int start = 0; start < visit.Length; start += microBatchSize)
            yield return new Step(this, visit[start..Math.Min(start + microBatchSize, visit.Length)]);
    }

    /// <summary>
    /// TRL's <c>precompute_ref_log_probs</c>: the reference's sums for every pair, once, in micro-batches of the pairs in file
    /// order. Call before training starts (and before a resume loads trained weights, for a full fine-tune).
    /// </summary>
    public void PrecomputeReference(ITrainableLM model, Action<int, int>? progress = null)
    {
        if (!loss.NeedsReference) return;
        referenceChosen = new double[pairs.Count];
        referenceRejected = new double[pairs.Count];
        for (int start = 0; start < pairs.Count; start += microBatchSize)
        {
            var indices = Enumerable.Range(start, Math.Min(microBatchSize, pairs.Count - start)).ToArray();
            var batch = Rows(indices, withSequence: false);
            var sums = model.CompletionLogProbs(batch.InputIds, batch.Labels, batch.BatchSize, batch.Length, reference: true, dropoutStep: 0);
            for (int i = 0; i < indices.Length; i++)
                (referenceChosen[indices[i]], referenceRejected[indices[i]]) = (sums[i], sums[indices.Length + i]);
            progress?.Invoke(start + indices.Length, pairs.Count);
        }
    }

    /// <summary>The rows one call reads: [chosen; rejected], with ORPO's whole chosen sequences first.</summary>
    private Batch Rows(int[] indices, bool withSequence)
    {
        var rows = new List<TrainingExample>(3 * indices.Length);
        if (withSequence) rows.AddRange(indices.Select(i => new TrainingExample(pairs[i].Chosen.InputIds, pairs[i].Chosen.InputIds)));
        rows.AddRange(indices.Select(i => pairs[i].Chosen));
        rows.AddRange(indices.Select(i => pairs[i].Rejected));
        return Batch.Collate(rows, padId);
    }

    /// <summary>Targets per row: labelled positions after the first (position 0 predicts nothing), from the labels alone.</summary>
    private static int[] TargetCounts(Batch batch, int from, int count)
    {
        var counts = new int[count];
        for (int b = 0; b < count; b++)
            for (int t = 1; t < batch.Length; t++)
                if (batch.Labels[(from + b) * batch.Length + t] != TrainingExample.IgnoreIndex) counts[b]++;
        return counts;
    }

    private sealed class Step(PreferenceObjective objective, int[] indices) : IMicroBatch
    {
        private readonly Batch batch = objective.Rows(indices, objective.loss.NeedsChosenSequence);

        public int Tokens => batch.AttentionMask.Sum();

        public MicroBatchResult ForwardBackward(ITrainableLM model, float gradScale, long dropoutStep)
        {
            int b = indices.Length, offset = objective.loss.NeedsChosenSequence ? b : 0;
            double[]? refChosen = null, refRejected = null;
            if (objective.loss.NeedsReference)
            {
                if (objective.referenceChosen is { } rc && objective.referenceRejected is { } rr)
                    (refChosen, refRejected) = (indices.Select(i => rc[i]).ToArray(), indices.Select(i => rr[i]).ToArray());
                else
                {
                    var r = model.CompletionLogProbs(batch.InputIds, batch.Labels, batch.BatchSize, batch.Length, reference: true, dropoutStep);
                    (refChosen, refRejected) = (r[..b], r[b..]);
                }
            }
            var sums = model.CompletionLogProbs(batch.InputIds, batch.Labels, batch.BatchSize, batch.Length, reference: false, dropoutStep);
            var rows = new PreferenceRows(sums[offset..(offset + b)], sums[(offset + b)..], TargetCounts(batch, offset, b), TargetCounts(batch, offset + b, b),
                refChosen, refRejected, offset > 0 ? sums[..b] : null, offset > 0 ? TargetCounts(batch, 0, b) : null);
            var result = objective.loss.Compute(rows);
            if (double.IsFinite(result.Loss))
            {
                var gradients = new float[batch.BatchSize];
                for (int i = 0; i < b; i++)
                {
                    if (result.DChosenSequence is { } ds) gradients[i] = (float)(ds[i] * gradScale);
                    gradients[offset + i] = (float)(result.DChosen[i] * gradScale);
                    gradients[offset + b + i] = (float)(result.DRejected[i] * gradScale);
                }
                model.BackwardCompletionLogProbs(gradients);
            }
            return new MicroBatchResult(result.Loss, result.Metrics);
        }
    }
}
