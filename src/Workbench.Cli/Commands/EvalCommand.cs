using System.CommandLine;
using Workbench.Adapters;
using Workbench.Backends;
using System.Text.Encodings.Web;
using System.Text.Json;
using Workbench.Data;
using Workbench.Data.FewShot;
using Workbench.Evaluation;
using Workbench.Formats;
using Workbench.Reports;
using Workbench.Models;
using Workbench.Tokenizers;
using Workbench.Training;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb eval fewshot MODEL_DIR --task nsmc|PATH.json --prompt 1|2 [--shots 10] [--samples 500] [--seed 1234]
/// [--scoring generate|loglik] [--full] [--train FILE --test FILE] [--json] [--out RUN_DIR]</c>: the few-shot
/// protocol of a task file on a model folder. Exit codes: 0 done, 2 bad input.
/// </summary>
public static class EvalCommand
{
    public static Command Build()
    {
        var eval = new Command("eval", "Evaluate models");
        eval.Subcommands.Add(BuildFewShot());
        return eval;
    }

    private static Command BuildFewShot()
    {
        var model = new Argument<string>("model") { Description = "Model folder: config.json, model.safetensors and the tokenizer" };
        var adapter = new Option<string?>("--adapter") { Description = "A PEFT adapter folder to load onto the model" };
        var task = new Option<string>("--task") { Description = "A task name under data/tasks (nsmc) or a task .json file", DefaultValueFactory = _ => "nsmc" };
        var prompt = new Option<string>("--prompt") { Description = "Prompt number (1, 2) or name (prompt1)", DefaultValueFactory = _ => "1" };
        var shots = new Option<int?>("--shots") { Description = "Shots per item (default: the task's)" };
        var samples = new Option<int?>("--samples") { Description = "Test items drawn (default: the task's)" };
        var seed = new Option<int?>("--seed") { Description = "Seed of both the test sample and the shot draws (default: the task's)" };
        var scoring = new Option<string>("--scoring") { Description = "generate (greedy answer) or loglik (lm-eval multiple choice)", DefaultValueFactory = _ => "generate" };
        scoring.AcceptOnlyFromAmong("generate", "loglik");
        var full = new Option<bool>("--full") { Description = "Use every test item instead of a sample" };
        var train = new Option<string?>("--train") { Description = "Training TSV for the shots (default: the task's)" };
        var test = new Option<string?>("--test") { Description = "Test TSV (default: the task's)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var output = new Option<string?>("--out") { Description = "Run folder: writes eval_<task>_p<prompt>.json (with every item) there" };
        var backend = new BackendChoice.Options();
        var command = new Command("fewshot", "Few-shot classification accuracy (NSMC protocol) with a 95% interval")
            { model, adapter, task, prompt, shots, samples, seed, scoring, full, train, test, json, output };
        backend.AddTo(command);
        command.SetAction(pr => Run(new FewShotArgs(pr.GetValue(model)!, pr.GetValue(adapter), pr.GetValue(task)!, pr.GetValue(prompt)!,
            pr.GetValue(shots), pr.GetValue(samples), pr.GetValue(seed), pr.GetValue(scoring) == "loglik" ? FewShotScoring.LogLikelihood : FewShotScoring.Generate,
            pr.GetValue(full), pr.GetValue(train), pr.GetValue(test), pr.GetValue(json), pr.GetValue(output)) { Backend = backend.From(pr) }));
        return command;
    }

    /// <summary>JSON with Korean verbalisers written as they are, not as \uXXXX escapes.</summary>
    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public sealed record FewShotArgs(string Model, string? Adapter, string Task, string Prompt, int? Shots, int? Samples, int? Seed,
        FewShotScoring Scoring, bool Full, string? Train, string? Test, bool Json, string? Out)
    {
        public BackendChoice Backend { get; init; } = new();
    }

    public static int Run(FewShotArgs a)
    {
        if (!Directory.Exists(a.Model)) return CliOutput.Fail($"{a.Model}: no such model folder");
        if (a.Adapter is not null && !Directory.Exists(a.Adapter)) return CliOutput.Fail($"--adapter: {a.Adapter}: no such adapter folder");
        if ((a.Train is null) != (a.Test is null)) return CliOutput.Fail("--train and --test: give both or neither");
        if (a.Shots < 0) return CliOutput.Fail($"--shots: must be at least 0, got {a.Shots}");
        if (a.Samples < 1) return CliOutput.Fail($"--samples: must be at least 1, got {a.Samples}");
        if (a.Seed < 0) return CliOutput.Fail($"--seed: must be at least 0, got {a.Seed}");
        // the output is checked before the work: an evaluation of the full test set takes a while
        string? outDir;
        try { outDir = a.Out is null ? null : OutputFolder.ClaimToAdd(a.Out, "evaluation", TrainingRun.Kind); }
        catch (IOException e) { return CliOutput.Fail(e.Message); }

        FewShotTask fewShot;
        string promptName;
        List<FewShotItem> items;
        ICausalLM lm;
        ITokenizer tokenizer;
        try
        {
            fewShot = FewShotTask.Load(FewShotTask.Resolve(a.Task));
            if (a.Train is not null) fewShot = fewShot.WithData(Path.GetFullPath(a.Train), Path.GetFullPath(a.Test!));
            fewShot = fewShot with
            {
                NumShots = a.Shots ?? fewShot.NumShots,
                TestSampleSize = a.Full ? null : a.Samples ?? fewShot.TestSampleSize,
                ShotSeed = a.Seed is { } s ? (ulong)s : fewShot.ShotSeed,
                TestSeed = a.Seed is { } t ? (uint)t : fewShot.TestSeed,
            };
            promptName = fewShot.Prompts.Any(p => p.Name == a.Prompt) ? a.Prompt : "prompt" + a.Prompt;
            fewShot.Prompt(promptName);
            tokenizer = Tokenizer.Load(a.Model);
            items = FewShotSampler.Create(fewShot, tokenizer).Render(promptName);
            ModelConfig.Load(a.Model).CheckTokenizer(tokenizer.VocabSize, a.Model);
            lm = a.Backend.Get().Load(a.Model, new InferenceSetup { AdapterDirectory = a.Adapter, Device = a.Backend.Device });
        }
        catch (Exception e) when (e is IOException or FormatException or ArgumentException or InvalidOperationException
                                   or NotSupportedException or DataFormatException or TaskDefinitionException or KeyNotFoundException
                                   or BackendUnavailableException)
        {
            return CliOutput.Fail(e.Message);
        }

        var result = TerminalProgress.Run($"eval {promptName}", report =>
            new FewShotEvaluator(lm, tokenizer) { Progress = report }.Evaluate(fewShot, promptName, items, a.Scoring))
            with { Model = Path.GetFullPath(a.Model), Adapter = a.Adapter is null ? null : Path.GetFullPath(a.Adapter) };
        if (outDir is not null)
        {
            string file = Path.Combine(outDir, $"eval_{fewShot.Name}_p{promptName.Replace("prompt", "")}.json");
            AtomicFile.WriteAllText(file, result.ToJson(items: true).ToJsonString(new JsonSerializerOptions(Readable) { WriteIndented = true }) + "\n");
            Console.Error.WriteLine($"wrote {file}");
        }
        if (a.Json) Console.WriteLine(result.ToJson().ToJsonString(Readable));
        else
        {
            Console.WriteLine(result.ToString());
            Console.Write(FewShotView.ConfusionTable(result.Confusion).ToMarkdown());
        }
        return 0;
    }
}
