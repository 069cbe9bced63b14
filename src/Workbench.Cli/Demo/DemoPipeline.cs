using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Adapters;
using Workbench.Adapters.Merge;
using Workbench.Backends;
using Workbench.Data;
using Workbench.Data.FewShot;
using Workbench.Engine;
using Workbench.Evaluation;
using Workbench.Formats;
using Workbench.Models;
using Workbench.Quantization;
using Workbench.Tokenizers;
using Workbench.Training;

namespace Workbench.Cli.Demo;

/// <summary>What <c>wb demo</c> runs on; the defaults are the small run, <c>--full</c> raises samples and steps.</summary>
public sealed record DemoOptions
{
    public string ModelDir { get; init; } = "data/models/ko-tiny";
    public string OutDir { get; init; } = "runs/demo";
    public string Task { get; init; } = "nsmc";
    /// <summary>The instruction-formatted NSMC sample the adapters train on; written from <see cref="SftSource"/> when missing.</summary>
    public string SftData { get; init; } = "data/nsmc/nsmc_sft.jsonl";
    /// <summary>The NSMC TSV a missing <see cref="SftData"/> is made from (null: the task's training file).</summary>
    public string? SftSource { get; init; }
    public int Samples { get; init; } = 200;
    public int? Shots { get; init; }
    public int Steps { get; init; } = 100;
    public int MicroBatchSize { get; init; } = 4;
    /// <summary>Block length: training examples are packed like the few-shot contexts they are scored in.</summary>
    public int MaxLength { get; init; } = 384;
    public FewShotScoring Scoring { get; init; } = FewShotScoring.LogLikelihood;
    public int Seed { get; init; } = 42;
    /// <summary>The compute backend the adapters train and every model is scored on (the merge itself is host arithmetic).</summary>
    public Commands.BackendChoice Backend { get; init; } = new();
}

/// <summary>One fine-tuning method's run: its adapter folder, counts and times, and its loss curve.</summary>
public sealed record MethodRun(string Method, long TrainableParameters, long TotalParameters, double TrainingSeconds,
    double InferenceSeconds, IReadOnlyList<(int Step, double Loss)> Losses, string AdapterDir);

/// <summary>Accuracy of one model under both seed prompts.</summary>
public sealed record ModelScores(string Model, FewShotResult Prompt1, FewShotResult Prompt2)
{
    public double Mean => (Prompt1.Accuracy + Prompt2.Accuracy) / 2;
}

public sealed record DemoResult(IReadOnlyList<MethodRun> Methods, IReadOnlyList<ModelScores> Scores, string Best, string MergedDir, string ReportPath);

/// <summary>The model folder the demo needs is missing or unusable; the message says how to make it.</summary>
public sealed class DemoException(string message) : Exception(message);

/// <summary>What the demo reports while it runs: stage lines, and progress through a task's units (steps, items).</summary>
public interface IDemoProgress
{
    void Log(string message);

    /// <summary><paramref name="done"/> of <paramref name="total"/> units of the named task; <paramref name="detail"/> says how it goes.</summary>
    void Advance(string task, int done, int total, string detail = "");
}

/// <summary>
/// The seed's main job end to end on one base model: NSMC few-shot accuracy of the base (both prompts); IA3, LoRA
/// and QLoRA (LoRA on the NF4-quantised base) each trained on an instruction-formatted NSMC sample and evaluated the
/// same way; the best adapter merged into a standalone model (evaluated too); and report.html with the seed's two
/// tables and the loss curves.
/// </summary>
public static class DemoPipeline
{
    /// <summary>How the demo trains one method: the adapter, whether the base is 4-bit (QLoRA), a learning rate (constant after warmup).</summary>
    public sealed record Recipe(AdapterMethod Method, bool Quantized, double LearningRate)
    {
        public string Name => RunMethod.Name(Method, Quantized);
    }

    public static readonly Recipe[] Recipes =
    [
        new(AdapterMethod.Ia3, Quantized: false, 1e-1),
        new(AdapterMethod.Lora, Quantized: false, 2e-3),
        new(AdapterMethod.Lora, Quantized: true, 2e-3),
    ];

    /// <summary>
    /// The layers every method adapts: every linear layer of the base's layout and its output head. The head because
    /// the verbalisers are rare words in a small model's corpus (" 긍정" 28 times in 150k NSMC reviews): through a
    /// frozen head their logits stay far below the common tokens' whatever the layers below do. IA3 scales the
    /// feed-forward down projection's input (PEFT's feed-forward default) and every other output, the head's one factor
    /// per vocabulary entry, which learns the task in a short run far better than PEFT's default layers (the figures
    /// are in docs/performance.md). A tied head is the embedding, no linear layer: none to adapt.
    /// </summary>
    public static string[] TargetModules(ModelConfig config) =>
        AdapterParameterCount.Sites(ParameterLayout.For(config)).Select(s => s.Name).Distinct().ToArray();

    /// <summary>What <see cref="OutputFolder"/> records the demo's folder as.</summary>
    public const string Kind = "demo";

    /// <summary>The completion follows the prompt as in the few-shot protocol: "…감정:" + " 긍정".</summary>
    public const string SftTemplate = "{instruction}{|} {output}";

    /// <summary>Training documents a missing SFT file is made of (the first ones of its source).</summary>
    public const int SftRecords = 8000;

    public static DemoResult Run(DemoOptions o, IDemoProgress progress)
    {
        if (o.Samples < 1) throw new ArgumentException($"--samples: must be at least 1, got {o.Samples}");
        if (o.Shots < 0) throw new ArgumentException($"--shots: must be at least 0, got {o.Shots}");
        if (o.Steps < 1) throw new ArgumentException($"--steps: must be at least 1, got {o.Steps}");
        if (!File.Exists(Path.Combine(o.ModelDir, "config.json")))
            throw new DemoException($"{o.ModelDir}: no model there. Make the small Korean base model first:\n" +
                                    "  wb pretrain --config data/examples/ko-tiny.yaml\n(or point --model at any GPT-NeoX/Llama model folder with a tokenizer)");
        // the demo's own earlier output is replaced (so ./wb demo runs again); any other folder is refused (OutputFolder)
        OutputFolder.Claim(o.OutDir, Kind, force: true, o.ModelDir, o.SftData).Recreate();
        var task = FewShotTask.Load(FewShotTask.Resolve(o.Task));
        task = task with { TestSampleSize = o.Samples, NumShots = o.Shots ?? task.NumShots };
        var tokenizer = Tokenizer.Load(o.ModelDir);
        ModelConfig.Load(o.ModelDir).CheckTokenizer(tokenizer.VocabSize, o.ModelDir);
        var sampler = FewShotSampler.Create(task, tokenizer);
        var items = task.Prompts.Take(2).Select(p => (p.Name, Items: sampler.Render(p.Name))).ToList();

        if (!File.Exists(o.SftData))
        {
            progress.Log($"writing {o.SftData} from {o.SftSource ?? task.TrainPath}");
            WriteSftData(task, o.SftSource ?? task.TrainPath, o.SftData);
        }

        var scores = new List<ModelScores>();
        ModelScores Evaluate(string name, ICausalLM model)
        {
            var r = items.Select((p, i) =>
            {
                string label = $"evaluate {name}, prompt {i + 1}";
                var evaluator = new FewShotEvaluator(model, tokenizer) { Progress = (done, total) => progress.Advance(label, done, total) };
                return evaluator.Evaluate(task, p.Name, p.Items, o.Scoring) with { Model = name };
            }).ToList();
            var s = new ModelScores(name, r[0], r[1]);
            progress.Log($"{name}: prompt 1 {s.Prompt1.Accuracy:P1}, prompt 2 {s.Prompt2.Accuracy:P1} on {o.Samples} NSMC items ({FewShotResult.ScoringName(o.Scoring)})");
            scores.Add(s);
            return s;
        }

        Evaluate("base", LoadForInference(o, o.ModelDir));
        var runs = new List<MethodRun>();
        foreach (var recipe in Recipes)
        {
            var (model, run) = Train(o, recipe, progress);
            var s = Evaluate(recipe.Name, model);
            runs.Add(run with { InferenceSeconds = s.Prompt1.WallSeconds + s.Prompt2.WallSeconds });
        }

        var best = scores.Where(s => s.Model != "base").MaxBy(s => s.Mean)!.Model;
        var mergedDir = Path.Combine(o.OutDir, "merged");
        progress.Log($"merging the best adapter ({best}) into {mergedDir}");
        var peft = PeftModel.Load(CausalLM.Load(o.ModelDir), Path.Combine(o.OutDir, best));
        StandaloneExport.Export(peft.MergeAndUnload(), o.ModelDir, mergedDir);
        Evaluate($"merged ({best})", LoadForInference(o, mergedDir));

        var reportPath = Path.Combine(o.OutDir, "report.html");
        var result = new DemoResult(runs, scores, best, mergedDir, reportPath);
        AtomicFile.WriteAllText(reportPath, DemoReport.Render(o, result));
        AtomicFile.WriteAllText(Path.Combine(o.OutDir, "results.json"), DemoReport.Json(result).ToJsonString(Readable) + "\n");
        progress.Log($"wrote {reportPath}");
        return result;
    }

    /// <summary>A model for scoring: a small model's weights widened to fp32 once (a few MB) rather than in every product.</summary>
    private static ICausalLM LoadForInference(DemoOptions o, string dir) =>
        o.Backend.Get().Load(dir, new InferenceSetup { BaseDType = DType.F32, Device = o.Backend.Device });

    private static readonly JsonSerializerOptions Readable = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// The training file: the first <see cref="SftRecords"/> reviews of an NSMC TSV, each as an instruction (the
    /// seed's prompts in turn, with the cleaned text) and its verbaliser (긍정/부정) as the output, one JSON object a
    /// line, written atomically.
    /// </summary>
    public static void WriteSftData(FewShotTask task, string source, string path)
    {
        var docs = TsvDocuments.Read(source, task.IdColumn, task.TextColumn, task.LabelColumn).Documents.Take(SftRecords);
        var prompts = task.Prompts.Take(2).Select(p => p.Format).ToList();
        var lines = docs.Select((d, i) =>
        {
            string text = task.Clean(d.Text);
            return new JsonObject { ["instruction"] = prompts[i % prompts.Count].Render(_ => text), ["output"] = task.VerbalizerOf(d) }
                .ToJsonString(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        });
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        AtomicFile.WriteAllText(path, string.Join("\n", lines) + "\n");
    }

    /// <summary>
    /// Trains one method as <c>wb train</c> does (<see cref="TrainingRun"/>) on packed blocks (several reviews and answers in
    /// a row, as in a few-shot context); returns the adapted model (in evaluation mode) and its run.
    /// </summary>
    private static (ICausalLM Model, MethodRun Run) Train(DemoOptions o, Recipe recipe, IDemoProgress progress)
    {
        var baseConfig = ModelConfig.Load(o.ModelDir);
        var config = new TrainingConfig
        {
            BaseModel = o.ModelDir, Adapter = recipe.Method, TargetModules = TargetModules(baseConfig), LoraR = 8, LoraAlpha = 16,
            Quantization = recipe.Quantized ? QuantType.Nf4 : null, DoubleQuant = recipe.Quantized,
            TorchDtype = BaseDType.Float32, Data = o.SftData, Template = SftTemplate, Packing = true,
            MaxLength = Math.Min(o.MaxLength, baseConfig.MaxPositions), MicroBatchSize = o.MicroBatchSize,
            LearningRate = recipe.LearningRate, LrSchedulerType = LrSchedulerType.Constant, WarmupSteps = Math.Min(10, o.Steps / 5),
            MaxSteps = o.Steps, Seed = o.Seed, OutputDir = Path.Combine(o.OutDir, recipe.Name), LoggingSteps = 1,
            Backend = o.Backend.Backend, Device = o.Backend.Device,
        }.Validate("demo");
        var run = TrainingRun.Create(config);
        var trainer = run.Trainer;
        progress.Log($"training {recipe.Name}: {trainer.TrainableParameters:N0} of {trainer.TotalParameters:N0} parameters, {o.Steps} steps");
        var losses = new List<(int, double)>();
        string label = $"train {recipe.Name}";
        trainer.OnStep = s =>
        {
            losses.Add((s.Step, s.Loss));
            progress.Advance(label, s.Step, s.TotalSteps, $"loss {s.Loss:F3}");
        };
        trainer.Train();
        double seconds = trainer.State.ElapsedSeconds;   // the optimizer steps, without the final checkpoint
        run.SaveAdapter();
        return (run.Model.Model, new MethodRun(recipe.Name, trainer.TrainableParameters, trainer.TotalParameters, seconds, 0, losses, config.OutputDir));
    }
}
