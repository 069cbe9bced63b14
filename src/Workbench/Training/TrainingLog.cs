using System.Globalization;
using System.Text.Json.Nodes;
using Workbench.Formats;

namespace Workbench.Training;

/// <summary>One optimizer step as logged.</summary>
/// <param name="Loss">Mean over the step's micro-batches of each micro-batch's mean token loss.</param>
/// <param name="LearningRate">The rate this step's update used.</param>
/// <param name="GradNorm">Global L2 norm of the accumulated gradient before clipping.</param>
/// <param name="Tokens">Non-padding tokens in the step's micro-batches.</param>
/// <param name="Epoch">Micro-batches consumed / micro-batches per epoch.</param>
/// <param name="Metrics">The objective's own values by TRL's names (<c>rewards/margins</c>, ...), mean over the step's micro-batches; null for fine-tuning.</param>
public sealed record StepLog(int Step, int TotalSteps, double Epoch, double Loss, double LearningRate, double GradNorm,
    int Tokens, double StepSeconds, double TokensPerSecond, double ElapsedSeconds, long PeakWorkingSetBytes,
    IReadOnlyDictionary<string, double>? Metrics = null)
{
    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["step"] = Step,
            ["epoch"] = Math.Round(Epoch, 4),
            ["loss"] = Loss,
            ["learning_rate"] = LearningRate,
            ["grad_norm"] = GradNorm,
            ["tokens"] = Tokens,
            ["step_seconds"] = StepSeconds,
            ["tokens_per_second"] = TokensPerSecond,
            ["elapsed_seconds"] = ElapsedSeconds,
            ["peak_working_set_bytes"] = PeakWorkingSetBytes,
        };
        foreach (var (name, value) in Metrics ?? new Dictionary<string, double>()) o[name] = value;
        return o;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"step {Step}/{TotalSteps}  loss {Loss:F4}  lr {LearningRate:E2}  grad_norm {GradNorm:F3}  {TokensPerSecond:F0} tok/s  {ElapsedSeconds:F1}s  peak {PeakWorkingSetBytes / 1048576.0:F0} MiB")
        + (Metrics is { } m && m.TryGetValue("rewards/accuracies", out var acc) && m.TryGetValue("rewards/margins", out var margin)
            ? string.Create(CultureInfo.InvariantCulture, $"  reward acc {acc:F2}  margin {margin:F4}") : "");
}

/// <summary>What a finished (or cancelled) run reports; also written to <c>&lt;out&gt;/train_summary.json</c>.</summary>
public sealed record TrainingSummary(string Method, long TrainableParameters, long TotalParameters, int Steps, int TotalSteps,
    bool Cancelled, double SecondsPerStep, double TokensPerSecond, long PeakWorkingSetBytes, double FinalLoss,
    string Checkpoint, string OutputDir)
{
    public const string FileName = "train_summary.json";

    public JsonObject ToJson() => new()
    {
        ["method"] = Method,
        ["trainable_parameters"] = TrainableParameters,
        ["total_parameters"] = TotalParameters,
        ["steps"] = Steps,
        ["total_steps"] = TotalSteps,
        ["cancelled"] = Cancelled,
        ["seconds_per_step"] = Finite(SecondsPerStep),
        ["tokens_per_second"] = Finite(TokensPerSecond),
        ["peak_working_set_bytes"] = PeakWorkingSetBytes,
        ["final_loss"] = Finite(FinalLoss),
        ["checkpoint"] = Checkpoint,
        ["output_dir"] = OutputDir,
    };

    /// <summary>JSON has no NaN: a session that ran no step (resumed at its last step) reports null.</summary>
    private static double? Finite(double v) => double.IsFinite(v) ? v : null;
}

/// <summary>
/// <c>&lt;out&gt;/train_log.jsonl</c>, one <see cref="StepLog"/> per line, flushed as written. On resume, lines for
/// steps after the checkpoint (from a run that went further before stopping), and a last line a killed process left
/// half written, are dropped first.
/// </summary>
public sealed class TrainingLogFile
{
    public const string FileName = "train_log.jsonl";
    public string Path { get; }

    public TrainingLogFile(string outputDir, int resumedStep)
    {
        Directory.CreateDirectory(outputDir);
        Path = System.IO.Path.Combine(outputDir, FileName);
        if (!File.Exists(Path)) return;
        var lines = TextFile.ReadLines(Path).Where(l => l.Length > 0).ToList();
        var kept = lines.Where((line, i) => StepOf(line, i == lines.Count - 1) is { } step && step <= resumedStep);
        AtomicFile.WriteAllText(Path, string.Concat(kept.Select(l => l + "\n")));
    }

    /// <summary>A line's step; null for a last line cut short by a killed process (the step it began is redone).</summary>
    private int? StepOf(string line, bool last)
    {
        try { return JsonNode.Parse(line)?["step"]?.GetValue<int>() ?? 0; }
        catch (System.Text.Json.JsonException) when (last) { return null; }
        catch (System.Text.Json.JsonException e) { throw new FormatException($"{Path}: a line that is not JSON ({JsonFile.Reason(e)})"); }
    }

    public void Append(StepLog log) => File.AppendAllText(Path, log.ToJson().ToJsonString() + "\n");
}
