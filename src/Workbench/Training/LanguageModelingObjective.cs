using Workbench.Backends;
using Workbench.Data;

namespace Workbench.Training;

/// <summary>
/// Supervised fine-tuning: each micro-batch's loss is the mean next-token loss over its non-ignored targets, as
/// transformers' Trainer computes it for a causal LM.
/// </summary>
public sealed class LanguageModelingObjective(IReadOnlyList<TrainingExample> examples, int microBatchSize, int padId, int seed) : ITrainingObjective
{
    private readonly MicroBatcher batcher = new(examples, microBatchSize, padId, (ulong)seed);

    public int BatchesPerEpoch => batcher.BatchesPerEpoch;

    public IEnumerable<IMicroBatch> Epoch(int epoch) => batcher.Epoch(epoch).Select(b => new Step(b));

    /// <summary>One collated batch as a micro-batch.</summary>
    internal sealed class Step(Batch batch) : IMicroBatch
    {
        public int Tokens => batch.AttentionMask.Sum();

        public MicroBatchResult ForwardBackward(ITrainableLM model, float gradScale, long dropoutStep) =>
            new(model.LossAndBackward(batch.InputIds, batch.Labels, batch.BatchSize, batch.Length, gradScale, dropoutStep));
    }
}
