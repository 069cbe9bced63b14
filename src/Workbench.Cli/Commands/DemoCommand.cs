using System.CommandLine;
using Spectre.Console;
using Workbench.Backends;
using Workbench.Cli.Demo;
using Workbench.Data;
using Workbench.Data.FewShot;
using Workbench.Evaluation;
using Workbench.Training;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb demo [--full] [--model DIR] [--out DIR] [--json]</c>: the main job on the small Korean base model (<see cref="DemoPipeline"/>):
/// NSMC few-shot on the base, IA3 / LoRA / QLoRA fine-tuning, evaluation, the best adapter merged, report.html.
/// Progress on stderr (bars on a terminal, lines otherwise); the two tables on stdout (--json: results.json's object). Exit codes: 0 done, 1 training diverged, 2 missing model or bad input.
/// </summary>
public static class DemoCommand
{
    public static Command Build()
    {
        var full = new Option<bool>("--full") { Description = "500 test items and 300 training steps per method (default: 200 items, 100 steps)" };
        var model = new Option<string>("--model") { Description = "base model folder", DefaultValueFactory = _ => "data/models/ko-tiny" };
        var output = new Option<string>("--out") { Description = "output folder (adapters, merged model, report.html)", DefaultValueFactory = _ => "runs/demo" };
        var samples = new Option<int?>("--samples") { Description = "test items per prompt (overrides --full)" };
        var shots = new Option<int?>("--shots") { Description = "shots per item (default: the task's 10)" };
        var steps = new Option<int?>("--steps") { Description = "training steps per method (overrides --full)" };
        var scoring = new Option<string>("--scoring") { Description = "loglik or generate", DefaultValueFactory = _ => "loglik" };
        scoring.AcceptOnlyFromAmong("loglik", "generate");
        var sft = new Option<string>("--sft-data") { Description = "the instruction-formatted NSMC sample to train on", DefaultValueFactory = _ => "data/nsmc/nsmc_sft.jsonl" };
        var sftSource = new Option<string>("--sft-source") { Description = $"when --sft-data is missing, write it from the first {DemoPipeline.SftRecords:N0} reviews of this NSMC TSV (default: the task's training file)" };
        var json = new Option<bool>("--json") { Description = "print the results as one JSON object (as results.json) instead of the tables" };
        var cmd = new Command("demo", "The main job: NSMC few-shot before and after IA3, LoRA and QLoRA on a small base model, with report.html")
            { full, model, output, samples, shots, steps, scoring, sft, sftSource, json };
        var backend = new BackendChoice.Options();
        backend.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            bool isFull = pr.GetValue(full);
            return Run(new DemoOptions
            {
                ModelDir = pr.GetValue(model)!, OutDir = pr.GetValue(output)!, SftData = pr.GetValue(sft)!, SftSource = pr.GetValue(sftSource),
                Samples = pr.GetValue(samples) ?? (isFull ? 500 : 200), Shots = pr.GetValue(shots),
                Steps = pr.GetValue(steps) ?? (isFull ? 300 : 100),
                Scoring = pr.GetValue(scoring) == "generate" ? FewShotScoring.Generate : FewShotScoring.LogLikelihood,
                Backend = backend.From(pr),
            }, pr.GetValue(json));
        });
        return cmd;
    }

    public static int Run(DemoOptions options, bool json)
    {
        try
        {
            DemoResult? r = null;
            if (TerminalProgress.Interactive) TerminalProgress.Bars((_, ctx) => r = DemoPipeline.Run(options, new BarsProgress(ctx)));
            else r = DemoPipeline.Run(options, new LinesProgress(Console.Error));
            if (json)
            {
                CliOutput.WriteJson(DemoReport.Json(r!));
                return 0;
            }
            Console.Write(DemoReport.MethodsTable(r!).ToMarkdown());
            Console.WriteLine();
            Console.Write(DemoReport.AccuracyTable(r!).ToMarkdown());
            Console.WriteLine($"\nreport: {r!.ReportPath}");
            return 0;
        }
        catch (TrainingDivergedException e)
        {
            Console.Error.WriteLine($"wb: demo: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is DemoException or TrainingConfigException or DataFormatException or TaskDefinitionException
                                   or FormatException or IOException or NotSupportedException or BackendUnavailableException)
        {
            return CliOutput.Fail($"demo: {e.Message}");
        }
    }

    /// <summary>Redirected output: "demo: …" lines, and a task's progress at every fifth of it.</summary>
    private sealed class LinesProgress(TextWriter log) : IDemoProgress
    {
        public void Log(string message) => log.WriteLine($"demo: {message}");

        public void Advance(string task, int done, int total, string detail = "")
        {
            int fifth = Math.Max(1, total / 5);
            if (done % fifth == 0 || done == total) log.WriteLine($"demo: {task}: {done}/{total}{(detail.Length > 0 ? " " + detail : "")}");
        }
    }

    /// <summary>A terminal: a Spectre progress bar per training run and evaluation; stage lines as finished tasks.</summary>
    private sealed class BarsProgress(ProgressContext ctx) : IDemoProgress
    {
        private readonly Dictionary<string, ProgressTask> tasks = [];

        public void Log(string message)
        {
            var line = ctx.AddTask(Markup.Escape(message), maxValue: 1);
            line.Value = 1;
            line.StopTask();
        }

        public void Advance(string task, int done, int total, string detail = "")
        {
            if (!tasks.TryGetValue(task, out var bar)) tasks[task] = bar = ctx.AddTask(Markup.Escape(task), maxValue: total);
            bar.Value = done;
            bar.Description = Markup.Escape(detail.Length > 0 ? $"{task} ({detail})" : task);
            if (done >= total) bar.StopTask();
        }
    }
}
