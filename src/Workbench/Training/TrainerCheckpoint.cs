using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Engine;
using Workbench.Formats;

namespace Workbench.Training;

/// <summary>Where a run stands between optimizer steps: enough, with the weights and moments, to continue bit for bit.</summary>
/// <param name="GlobalStep">Optimizer steps taken.</param>
/// <param name="Epoch">Epoch of the next micro-batch.</param>
/// <param name="BatchIndex">Index of the next micro-batch within that epoch's seeded order.</param>
/// <param name="Seed">The seed the data order (SplitMix64 per epoch) and adapter initialisation derive from.</param>
/// <param name="ElapsedSeconds">Training time so far, summed over sessions.</param>
public sealed record TrainerState(int GlobalStep, int Epoch, int BatchIndex, int Seed, double ElapsedSeconds);

/// <summary>A checkpoint read back from disk.</summary>
public sealed record LoadedCheckpoint(string Path, TrainerState State, LrSchedule Schedule, TrainingConfig Config,
    Dictionary<string, Tensor> Weights, Dictionary<string, Tensor> Moments, int OptimizerSteps);

/// <summary>
/// <c>&lt;out&gt;/checkpoint-&lt;step&gt;/</c>: <c>trainable.safetensors</c> (trainable weights by parameter name),
/// <c>optimizer.safetensors</c> (AdamW moments <c>exp_avg.*</c>/<c>exp_avg_sq.*</c>, step count in the metadata),
/// <c>trainer_state.json</c> (step, data position, seed, elapsed time, scheduler state) and
/// <c>training_config.json</c>. Written with <see cref="AtomicFolder"/>, so a checkpoint folder is either absent
/// or complete.
/// </summary>
public static class TrainerCheckpoint
{
    public const string WeightsFile = "trainable.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string StateFile = "trainer_state.json";
    public const string ConfigFile = "training_config.json";
    public const string Prefix = "checkpoint-";

    public static string Save(string outputDir, TrainerState state, LrSchedule schedule, TrainingConfig config,
        IReadOnlyList<(string Name, Tensor Tensor)> trainable, IReadOnlyDictionary<string, Tensor> moments, int optimizerSteps)
    {
        var final = Path.Combine(outputDir, Prefix + state.GlobalStep.ToString(CultureInfo.InvariantCulture));
        AtomicFolder.Write(final, dir =>
        {
            SafeTensorsWriter.Write(Path.Combine(dir, WeightsFile), trainable.ToDictionary(p => p.Name, p => p.Tensor));
            SafeTensorsWriter.Write(Path.Combine(dir, OptimizerFile), moments,
                new Dictionary<string, string> { ["step"] = optimizerSteps.ToString(CultureInfo.InvariantCulture) });
            File.WriteAllText(Path.Combine(dir, StateFile), StateJson(state, schedule));
            File.WriteAllText(Path.Combine(dir, ConfigFile), TrainingConfigLoader.ToJson(config));
        });
        return final;
    }

    /// <summary>The checkpoint with the highest step under <paramref name="outputDir"/>, or null.</summary>
    public static string? Latest(string outputDir) =>
        !Directory.Exists(outputDir) ? null : Directory.EnumerateDirectories(outputDir, Prefix + "*")
            .Select(d => (Dir: d, Ok: int.TryParse(Path.GetFileName(d)[Prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var s), Step: s))
            .Where(x => x.Ok && File.Exists(Path.Combine(x.Dir, StateFile)))
            .OrderByDescending(x => x.Step)
            .Select(x => x.Dir)
            .FirstOrDefault();

    /// <summary><c>latest</c> (the newest checkpoint under <paramref name="outputDir"/>) or a checkpoint folder.</summary>
    public static string Resolve(string resume, string outputDir)
    {
        if (resume == "latest")
            return Latest(outputDir) ?? throw new TrainingConfigException($"--resume latest: no checkpoint under {outputDir}");
        if (!File.Exists(Path.Combine(resume, StateFile)))
            throw new TrainingConfigException($"--resume {resume}: not a checkpoint folder (no {StateFile})");
        return resume;
    }

    public static LoadedCheckpoint Load(string dir)
    {
        foreach (var f in new[] { WeightsFile, OptimizerFile, StateFile, ConfigFile })
            if (!File.Exists(Path.Combine(dir, f))) throw new TrainingConfigException($"{dir}: incomplete checkpoint, {f} is missing");
        var statePath = Path.Combine(dir, StateFile);
        var root = JsonFields.Parse(TextFile.ReadAll(statePath), statePath,
            (file, field, problem) => new TrainingConfigException($"{file}: {JsonFields.Describe(field, problem)}"));
        int Int(JsonFields f, string field) => f.Int(field) ?? throw f.Missing(field);
        double Double(JsonFields f, string field) => f.Double(field) ?? throw f.Missing(field);
        var state = new TrainerState(Int(root, "global_step"), Int(root, "epoch"), Int(root, "batch_index"),
            Int(root, "seed"), Double(root, "elapsed_seconds"));
        var s = root.Object("scheduler") ?? throw root.Missing("scheduler");
        var schedule = new LrSchedule(Enum.Parse<LrSchedulerType>(s.String("type") ?? throw s.Missing("type"), ignoreCase: true),
            Double(s, "base_lr"), Int(s, "warmup_steps"), Int(s, "total_steps"));
        var configPath = Path.Combine(dir, ConfigFile);
        var config = TrainingConfigLoader.FromJson(TextFile.ReadAll(configPath), configPath);
        var optimizerPath = Path.Combine(dir, OptimizerFile);
        int steps = int.Parse(SafeTensorsFile.Metadata(optimizerPath).GetValueOrDefault("step", "-1"), CultureInfo.InvariantCulture);
        if (steps != state.GlobalStep) throw new TrainingConfigException($"{optimizerPath}: optimizer step {steps} does not match global_step {state.GlobalStep}");
        return new LoadedCheckpoint(dir, state, schedule, config,
            SafeTensorsFile.Load(Path.Combine(dir, WeightsFile)), SafeTensorsFile.Load(optimizerPath), steps);
    }

    private static string StateJson(TrainerState s, LrSchedule schedule) => new JsonObject
    {
        ["global_step"] = s.GlobalStep,
        ["epoch"] = s.Epoch,
        ["batch_index"] = s.BatchIndex,
        ["seed"] = s.Seed,
        ["rng"] = "data order: SplitMix64(seed ^ SplitMix64(epoch + 1)) shuffle per epoch; no other randomness during training",
        ["elapsed_seconds"] = s.ElapsedSeconds,
        ["scheduler"] = new JsonObject
        {
            ["type"] = EnumSpelling.Name(schedule.Type),
            ["base_lr"] = schedule.BaseLr,
            ["warmup_steps"] = schedule.WarmupSteps,
            ["total_steps"] = schedule.TotalSteps,
            ["last_step"] = s.GlobalStep,
        },
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}
