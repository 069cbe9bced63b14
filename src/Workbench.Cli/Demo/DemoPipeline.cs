using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Adapters;
using Workbench.Adapters.Merge;
using Workbench.Data;
using Workbench.Data.FewShot;
using Workbench.Engine.Nn;
using Workbench.Evaluation;
using Workbench.Models;
using Workbench.Notebooks;
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
    /// <summary>Where the instruction-formatted NSMC sample is written.</summary>
    public string SftData { get; init; } = "data/nsmc/nsmc_sft.jsonl";
    public int Samples { get; init; } = 100;
    public int? Shots { get; init; }
    public int Steps { get; init; } = 30;
    public int MicroBatchSize { get; init; } = 4;
    public int MaxLength { get; init; } = 128;
    public FewShotScoring Scoring { get; init; } = FewShotScoring.LogLikelihood;
    public int Seed { get; init; } = 42;
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

/// <summary>
/// The seed's main job end to end on one base model: NSMC few-shot accuracy of the base (both prompts); IA3, LoRA
/// and QLoRA (LoRA on the NF4-quantised base) each trained for a few steps on an instruction-formatted NSMC sample
/// and evaluated the same way; the best adapter merged into a standalone model (evaluated too); and report.html
/// with the seed's two tables and the loss curves.
/// </summary>
public static class DemoPipeline
{
    public static readonly string[] Methods = ["ia3", "lora", "qlora"];
    /// <summary>The completion follows the prompt as in the few-shot protocol: "…감정:" + " 긍정".</summary>
    public const string SftTemplate = "{instruction}{|} {output}";

    public static DemoResult Run(DemoOptions o, Action<string> progress)
    {
        if (!File.Exists(Path.Combine(o.ModelDir, "config.json")))
            throw new DemoException($"{o.ModelDir}: no model there. Make the small Korean base model first:\n" +
                                    "  wb pretrain --config data/examples/ko-tiny.yaml\n(or point --model at any GPT-NeoX/Llama model folder with a tokenizer)");
        Directory.CreateDirectory(o.OutDir);
        var task = FewShotTask.Load(Commands.EvalCommand.ResolveTask(o.Task));
        task = task with { TestSampleSize = o.Samples, NumShots = o.Shots ?? task.NumShots };
        var tokenizer = Tokenizer.Load(o.ModelDir);
        var sampler = FewShotSampler.Create(task, tokenizer);
        var items = task.Prompts.Take(2).Select(p => (p.Name, Items: sampler.Render(p.Name))).ToList();

        progress($"writing {o.SftData}");
        WriteSftData(task, o.SftData);

        var scores = new List<ModelScores>();
        ModelScores Evaluate(string name, ICausalLM model)
        {
            progress($"evaluating {name} on {o.Samples} NSMC items × 2 prompts ({FewShotResult.ScoringName(o.Scoring)})");
            var evaluator = new FewShotEvaluator(model, tokenizer);
            var r = items.Select(p => evaluator.Evaluate(task, p.Name, p.Items, o.Scoring) with { Model = name }).ToList();
            var s = new ModelScores(name, r[0], r[1]);
            progress($"{name}: prompt 1 {s.Prompt1.Accuracy:P1}, prompt 2 {s.Prompt2.Accuracy:P1}");
            scores.Add(s);
            return s;
        }

        Evaluate("base", CausalLM.Load(o.ModelDir));
        var runs = new List<MethodRun>();
        foreach (var method in Methods)
        {
            var (model, run) = Train(o, method, tokenizer, progress);
            var s = Evaluate(method, model);
            runs.Add(run with { InferenceSeconds = s.Prompt1.WallSeconds + s.Prompt2.WallSeconds });
        }

        var best = scores.Where(s => s.Model != "base").MaxBy(s => s.Mean)!.Model;
        var mergedDir = Path.Combine(o.OutDir, "merged");
        progress($"merging the best adapter ({best}) into {mergedDir}");
        var baseModel = (Module)CausalLM.Load(o.ModelDir);
        var peft = PeftFormat.Load(baseModel, Path.Combine(o.OutDir, best));
        StandaloneExport.Export(AdapterMerge.MergeAndUnload(peft), o.ModelDir, mergedDir, force: true);
        Evaluate($"merged ({best})", CausalLM.Load(mergedDir));

        var reportPath = Path.Combine(o.OutDir, "report.html");
        var result = new DemoResult(runs, scores, best, mergedDir, reportPath);
        AtomicFile.WriteAllText(reportPath, DemoReport.Render(o, result));
        AtomicFile.WriteAllText(Path.Combine(o.OutDir, "results.json"), DemoReport.Json(result).ToJsonString(Readable) + "\n");
        progress($"wrote {reportPath}");
        return result;
    }

    private static readonly JsonSerializerOptions Readable = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// The training file: each NSMC training review as an instruction (the seed's prompts in turn, with the cleaned
    /// text) and its verbaliser (긍정/부정) as the output, one JSON object a line, written atomically.
    /// </summary>
    public static void WriteSftData(FewShotTask task, string path)
    {
        var docs = TsvDocuments.Read(task.TrainPath, task.IdColumn, task.TextColumn, task.LabelColumn).Documents;
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

    /// <summary>Trains one method with the ordinary <see cref="Trainer"/>; returns the adapted model (in eval mode) and its run.</summary>
    private static (ICausalLM Model, MethodRun Run) Train(DemoOptions o, string method, ITokenizer tokenizer, Action<string> progress)
    {
        bool ia3 = method == "ia3";
        var config = new TrainingConfig
        {
            BaseModel = o.ModelDir, Adapter = ia3 ? AdapterMethod.Ia3 : AdapterMethod.Lora, LoraR = 8, LoraAlpha = 16,
            Data = o.SftData, Template = SftTemplate, MaxLength = Math.Min(o.MaxLength, ModelConfig.Load(o.ModelDir).MaxPositions), MicroBatchSize = o.MicroBatchSize,
            LearningRate = ia3 ? 3e-2 : 2e-3, LrSchedulerType = LrSchedulerType.Constant, WarmupSteps = Math.Min(5, o.Steps / 5),
            MaxSteps = o.Steps, Seed = o.Seed, OutputDir = Path.Combine(o.OutDir, method), LoggingSteps = 1,
        }.Validate("demo");
        var model = TrainingModel.LoadBase(config);
        if (method == "qlora") ModelQuantizer.Quantize((Module)model, QuantOptions.QLora);
        var examples = TrainingData.Load(config, tokenizer);
        var peft = TrainingModel.Prepare((Module)model, config)!;
        var trainer = new Trainer(config, model, examples, TrainingData.PadId(tokenizer)) { AdapterRuntime = peft.Runtime };
        progress($"training {method}: {trainer.TrainableParameters:N0} of {trainer.TotalParameters:N0} parameters, {o.Steps} steps");
        var losses = new List<(int, double)>();
        trainer.OnStep = s =>
        {
            losses.Add((s.Step, s.Loss));
            if (s.Step % Math.Max(1, s.TotalSteps / 5) == 0 || s.Step == s.TotalSteps) progress($"{method}: {s}");
        };
        trainer.Train();
        double seconds = trainer.State.ElapsedSeconds;   // the optimizer steps, without the final checkpoint
        PeftFormat.Save(peft, config.OutputDir);
        peft.Train(false);
        return (model, new MethodRun(method, trainer.TrainableParameters, trainer.TotalParameters, seconds, 0, losses, config.OutputDir));
    }
}
