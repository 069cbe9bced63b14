using System.Diagnostics;
using System.Text.Json;
using Workbench.Backends;
using Workbench.Data;
using Workbench.Engine;
using Workbench.Formats;

namespace Workbench.Training;

/// <summary>
/// The training loop, as transformers' Trainer runs it on one device. Each optimizer step takes
/// <c>gradient_accumulation_steps</c> micro-batches from the objective's seeded stream; each micro-batch's loss (the
/// mean next-token loss for fine-tuning, <see cref="LanguageModelingObjective"/>; a DPO or ORPO loss,
/// <see cref="PreferenceObjective"/>) is back-propagated scaled by 1/accumulation; then the global gradient norm is
/// clipped, the learning rate set from the schedule, and AdamW steps. Training is deterministic: no randomness but the seeded data order and the seeded dropout masks, so two
/// runs give the same losses, and a resumed run continues bit for bit. The model is reached only through
/// <see cref="ITrainableLM"/>, so the loop is the same for every adapter method and every compute backend.
/// A non-finite loss or gradient norm stops training with <see cref="TrainingDivergedException"/> before the
/// update, saving nothing. Cancellation is checked between steps and ends with a checkpoint.
/// </summary>
public sealed class Trainer
{
    private readonly TrainingConfig config;
    private readonly ITrainableLM model;
    private readonly ITrainingObjective objective;

    public LrSchedule Schedule { get; }
    public int TotalSteps => Schedule.TotalSteps;
    public TrainerState State { get; private set; }

    /// <summary>Called after every optimizer step (the CLI draws progress; tests cancel or inspect).</summary>
    public Action<StepLog>? OnStep { get; set; }
    /// <summary>Called with each checkpoint folder written.</summary>
    public Action<string>? OnCheckpoint { get; set; }

    public long TrainableParameters => model.TrainableParameters;
    public long TotalParameters => model.TotalParameters;

    /// <summary>Supervised fine-tuning on <paramref name="examples"/>.</summary>
    /// <param name="model">A model prepared for training (adapter added or parameters unfrozen).</param>
    public Trainer(TrainingConfig config, ITrainableLM model, IReadOnlyList<TrainingExample> examples, int padId)
        : this(config, model, examples.Count == 0 ? throw new ArgumentException("Trainer: no training examples")
            : new LanguageModelingObjective(examples, config.MicroBatchSize, padId, config.Seed))
    {
    }

    /// <param name="model">A model prepared for training (adapter added or parameters unfrozen).</param>
    public Trainer(TrainingConfig config, ITrainableLM model, ITrainingObjective objective)
    {
        this.config = config;
        this.model = model;
        this.objective = objective;
        int total = config.MaxSteps > 0 ? config.MaxSteps
            : Math.Max(1, (int)Math.Floor(config.NumTrainEpochs * objective.BatchesPerEpoch / config.GradientAccumulationSteps));
        Schedule = new LrSchedule(config.LrSchedulerType, config.LearningRate, LrSchedule.WarmupFor(config, total), total);
        State = new TrainerState(0, 0, 0, config.Seed, 0);
    }

    /// <summary>
    /// Restores weights, moments, step and data position from a checkpoint made with the same settings
    /// (keys that may differ: output_dir, save_steps, logging_steps).
    /// </summary>
    public void Resume(LoadedCheckpoint checkpoint)
    {
        var changed = TrainingConfigLoader.Differences(checkpoint.Config, config)
            .Except(["output_dir", "save_steps", "logging_steps"]).ToList();
        if (changed.Count > 0)
            throw new TrainingConfigException($"{checkpoint.Path}: cannot resume with different settings: {string.Join(", ", changed)}");
        if (checkpoint.Schedule != Schedule)
            throw new TrainingConfigException($"{checkpoint.Path}: saved schedule {checkpoint.Schedule} differs from this run's {Schedule}");
        var trainable = model.TrainableTensors();
        var expected = trainable.Select(p => p.Name).ToHashSet();
        var extra = checkpoint.Weights.Keys.Where(k => !expected.Contains(k)).ToList();
        if (extra.Count > 0) throw new TrainingConfigException($"{checkpoint.Path}: weights for parameters this model does not train: {string.Join(", ", extra.Take(5))}");
        CopyInto(trainable, checkpoint.Weights, checkpoint.Path, "trainable weight");
        CopyInto(model.OptimizerMoments().Select(m => (m.Key, m.Value)).ToList(), checkpoint.Moments, checkpoint.Path, "optimizer state");
        model.OptimizerSteps = checkpoint.OptimizerSteps;
        State = checkpoint.State;
    }

    /// <summary>Copies every saved tensor into its live twin; each must be there with the live one's shape.</summary>
    private static void CopyInto(IReadOnlyList<(string Name, Tensor Tensor)> live, IReadOnlyDictionary<string, Tensor> saved, string origin, string what)
    {
        foreach (var (name, target) in live)
        {
            if (!saved.TryGetValue(name, out var t)) throw new TrainingConfigException($"{origin}: missing {what} '{name}'");
            if (!t.Shape.SequenceEqual(target.Shape))
                throw new TrainingConfigException($"{origin}: '{name}' has shape {Shape.Format(t.Shape)}, expected {Shape.Format(target.Shape)}");
            t.Contiguous().Span.CopyTo(target.Span);
        }
    }

    /// <summary>Trains until the total step count or cancellation; writes the final checkpoint and the summary.</summary>
    public TrainingSummary Train(CancellationToken cancellation = default)
    {
        model.GradientCheckpointing = config.GradientCheckpointing;
        model.Training = true;
        var log = new TrainingLogFile(config.OutputDir, State.GlobalStep);
        var stream = MicroBatches(State.Epoch, State.BatchIndex).GetEnumerator();
        var stepTimes = new List<double>();
        long tokens = 0;
        double lastLoss = double.NaN;
        string? lastCheckpoint = null;
        bool cancelled = false;

        while (State.GlobalStep < TotalSteps)
        {
            if (cancellation.IsCancellationRequested) { cancelled = true; break; }
            var watch = Stopwatch.StartNew();
            int step = State.GlobalStep + 1;
            var batches = new List<IMicroBatch>(config.GradientAccumulationSteps);
            (int Epoch, int Index) next = default;
            for (int k = 0; k < config.GradientAccumulationSteps; k++)
            {
                stream.MoveNext();
                batches.Add(stream.Current.Batch);
                next = stream.Current.Next;
            }

            model.ZeroGrad();
            var (loss, stepTokens, metrics) = Accumulate(batches, step);
            float norm = model.ClipGradNorm(config.MaxGradNorm > 0 ? (float)config.MaxGradNorm : float.PositiveInfinity);
            if (!float.IsFinite(norm))
                throw new TrainingDivergedException(step, $"step {step}: gradient norm is {norm}; stopped before the update, nothing saved");
            double lr = Schedule.RateForStep(step);
            model.OptimizerStep(lr);
            watch.Stop();

            double seconds = watch.Elapsed.TotalSeconds;
            stepTimes.Add(seconds);
            tokens += stepTokens;
            lastLoss = loss;
            State = new TrainerState(step, next.Epoch, next.Index, config.Seed, State.ElapsedSeconds + seconds);
            var entry = new StepLog(step, TotalSteps, (double)step * config.GradientAccumulationSteps / objective.BatchesPerEpoch,
                loss, lr, norm, stepTokens, seconds, stepTokens / seconds, State.ElapsedSeconds, PeakWorkingSet(), metrics);
            if (step % config.LoggingSteps == 0 || step == TotalSteps) log.Append(entry);
            if (config.SaveSteps > 0 && step % config.SaveSteps == 0 && step < TotalSteps) lastCheckpoint = Save();
            OnStep?.Invoke(entry);
        }

        model.Training = false;
        if (lastCheckpoint is null || !lastCheckpoint.EndsWith(TrainerCheckpoint.Prefix + State.GlobalStep)) lastCheckpoint = Save();
        // The first step of a session carries JIT and allocation warm-up; leave it out when there are others.
        var timed = stepTimes.Count > 1 ? stepTimes.Skip(1).ToList() : stepTimes;
        double secondsPerStep = timed.Count > 0 ? timed.Average() : double.NaN;
        var summary = new TrainingSummary(EnumSpelling.Name(config.Adapter), TrainableParameters, TotalParameters,
            State.GlobalStep, TotalSteps, cancelled, secondsPerStep, stepTimes.Count > 0 ? tokens / stepTimes.Sum() : double.NaN,
            PeakWorkingSet(), lastLoss, lastCheckpoint, config.OutputDir);
        AtomicFile.WriteAllText(Path.Combine(config.OutputDir, TrainingSummary.FileName),
            summary.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return summary;
    }

    /// <summary>
    /// Forward and backward over one optimizer step's micro-batches: each micro-batch's mean loss is
    /// back-propagated with the seed 1/accumulation, so gradients add up to the mean of the micro-batch means
    /// (transformers' normalisation). Returns that mean loss, the non-padding token count and the mean of each
    /// metric over the micro-batches (null when the objective logs none). Throws
    /// <see cref="TrainingDivergedException"/> on a non-finite loss before any backward of that micro-batch.
    /// </summary>
    private (double Loss, int Tokens, IReadOnlyDictionary<string, double>? Metrics) Accumulate(IReadOnlyList<IMicroBatch> batches, int step)
    {
        double loss = 0;
        int tokens = 0;
        Dictionary<string, double>? metrics = null;
        for (int k = 0; k < batches.Count; k++)
        {
            var result = batches[k].ForwardBackward(model, 1f / batches.Count, (long)step * batches.Count + k);
            if (!double.IsFinite(result.Loss))
                throw new TrainingDivergedException(step,
                    $"step {step}: loss is {result.Loss} on micro-batch {k + 1} of {batches.Count}; stopped before the update, nothing saved");
            loss += result.Loss / batches.Count;
            tokens += batches[k].Tokens;
            foreach (var (name, value) in result.Metrics ?? new Dictionary<string, double>())
            {
                metrics ??= [];
                metrics[name] = metrics.GetValueOrDefault(name) + value / batches.Count;
            }
        }
        return (loss, tokens, metrics);
    }

    /// <summary>Supervised micro-batches through <see cref="Accumulate"/>: their mean loss and token count.</summary>
    internal (double Loss, int Tokens) AccumulateGradients(IReadOnlyList<Batch> batches, int step)
    {
        var (loss, tokens, _) = Accumulate(batches.Select(b => (IMicroBatch)new LanguageModelingObjective.Step(b)).ToList(), step);
        return (loss, tokens);
    }

    /// <summary>Writes <c>checkpoint-&lt;step&gt;</c> for the current state.</summary>
    public string Save()
    {
        var trainable = model.TrainableTensors();
        foreach (var (name, t) in trainable)
            if (!AllFinite(t.Span))
                throw new TrainingDivergedException(State.GlobalStep, $"step {State.GlobalStep}: parameter '{name}' holds NaN or Inf; checkpoint not saved");
        var path = TrainerCheckpoint.Save(config.OutputDir, State, Schedule, config, trainable, model.OptimizerMoments(), model.OptimizerSteps);
        OnCheckpoint?.Invoke(path);
        return path;
    }

    /// <summary>Micro-batches from (epoch, index) on, across epochs, each with the position after it.</summary>
    private IEnumerable<(IMicroBatch Batch, (int Epoch, int Index) Next)> MicroBatches(int epoch, int index)
    {
        for (; ; epoch++, index = 0)
        {
            int i = 0;
            foreach (var batch in objective.Epoch(epoch))
            {
                if (i++ < index) continue;
                yield return (batch, i == objective.BatchesPerEpoch ? (epoch + 1, 0) : (epoch, i));
            }
        }
    }

    /// <summary>A finite sum means every value is finite (NaN or ±Inf propagate); only an overflowing sum needs the scan.</summary>
    private static bool AllFinite(ReadOnlySpan<float> values)
    {
        if (float.IsFinite(System.Numerics.Tensors.TensorPrimitives.Sum(values))) return true;
        foreach (var v in values) if (!float.IsFinite(v)) return false;
        return true;
    }

    private static long PeakWorkingSet()
    {
        using var p = Process.GetCurrentProcess();
        return p.PeakWorkingSet64;
    }
}

/// <summary>Training produced a NaN or infinite loss or gradient; <see cref="Step"/> is the optimizer step (1-based).</summary>
public sealed class TrainingDivergedException(int step, string message) : Exception(message)
{
    public int Step { get; } = step;
}
