using Workbench.Backends;

namespace Workbench.Training;

/// <summary>
/// What a <see cref="Trainer"/> optimises: its micro-batches in the seeded order of each epoch, each of which runs its
/// forward and backward through the model's seam. The trainer owns everything else (accumulation, clipping, the
/// schedule, checkpoints, resume, logs), so supervised fine-tuning (<see cref="LanguageModelingObjective"/>) and
/// preference tuning (<see cref="PreferenceObjective"/>) share one loop.
/// </summary>
public interface ITrainingObjective
{
    int BatchesPerEpoch { get; }

    /// <summary>The micro-batches of epoch <paramref name="epoch"/>, in order; the same on every run for the same seed.</summary>
    IEnumerable<IMicroBatch> Epoch(int epoch);
}

/// <summary>One micro-batch of an objective.</summary>
public interface IMicroBatch
{
    /// <summary>Non-padding tokens in the rows the model reads.</summary>
    int Tokens { get; }

    /// <summary>
    /// Its loss and that loss's backward with the seed <paramref name="gradScale"/>, adding to the model's gradients (nothing
    /// is back-propagated when the loss is not finite); <paramref name="dropoutStep"/> seeds dropout masks.
    /// </summary>
    MicroBatchResult ForwardBackward(ITrainableLM model, float gradScale, long dropoutStep);
}

/// <param name="Metrics">Named values to log beside the loss (TRL's <c>rewards/chosen</c>, ...); null for none.</param>
public sealed record MicroBatchResult(double Loss, IReadOnlyDictionary<string, double>? Metrics = null);
