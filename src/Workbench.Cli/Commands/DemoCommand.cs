using System.CommandLine;
using Workbench.Cli.Demo;
using Workbench.Data;
using Workbench.Data.FewShot;
using Workbench.Evaluation;
using Workbench.Training;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb demo [--full] [--model DIR] [--out DIR]</c>: the main job on the small Korean base model (<see cref="DemoPipeline"/>):
/// NSMC few-shot on the base, IA3 / LoRA / QLoRA fine-tuning, evaluation, the best adapter merged, report.html.
/// Progress on stderr; the two tables on stdout. Exit codes: 0 done, 1 training diverged, 2 missing model or bad input.
/// </summary>
public static class DemoCommand
{
    public static Command Build()
    {
        var full = new Option<bool>("--full") { Description = "500 test items and 100 training steps per method (default: 100 items, 30 steps)" };
        var model = new Option<string>("--model") { Description = "base model folder", DefaultValueFactory = _ => "data/models/ko-tiny" };
        var output = new Option<string>("--out") { Description = "output folder (adapters, merged model, report.html)", DefaultValueFactory = _ => "runs/demo" };
        var samples = new Option<int?>("--samples") { Description = "test items per prompt (overrides --full)" };
        var shots = new Option<int?>("--shots") { Description = "shots per item (default: the task's 10)" };
        var steps = new Option<int?>("--steps") { Description = "training steps per method (overrides --full)" };
        var scoring = new Option<string>("--scoring") { Description = "loglik or generate", DefaultValueFactory = _ => "loglik" };
        scoring.AcceptOnlyFromAmong("loglik", "generate");
        var sft = new Option<string>("--sft-data") { Description = "where the instruction-formatted NSMC sample is written", DefaultValueFactory = _ => "data/nsmc/nsmc_sft.jsonl" };
        var cmd = new Command("demo", "The main job: NSMC few-shot before and after IA3, LoRA and QLoRA on a small base model, with report.html")
            { full, model, output, samples, shots, steps, scoring, sft };
        cmd.SetAction(pr =>
        {
            bool isFull = pr.GetValue(full);
            return Run(new DemoOptions
            {
                ModelDir = pr.GetValue(model)!, OutDir = pr.GetValue(output)!, SftData = pr.GetValue(sft)!,
                Samples = pr.GetValue(samples) ?? (isFull ? 500 : 100), Shots = pr.GetValue(shots),
                Steps = pr.GetValue(steps) ?? (isFull ? 100 : 30),
                Scoring = pr.GetValue(scoring) == "generate" ? FewShotScoring.Generate : FewShotScoring.LogLikelihood,
            });
        });
        return cmd;
    }

    public static int Run(DemoOptions options)
    {
        try
        {
            var r = DemoPipeline.Run(options, m => Console.Error.WriteLine($"demo: {m}"));
            Console.Write(DemoReport.MethodsTable(r).ToMarkdown());
            Console.WriteLine();
            Console.Write(DemoReport.AccuracyTable(r).ToMarkdown());
            Console.WriteLine($"\nreport: {r.ReportPath}");
            return 0;
        }
        catch (TrainingDivergedException e)
        {
            Console.Error.WriteLine($"wb: demo: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is DemoException or TrainingConfigException or DataFormatException or TaskDefinitionException
                                   or FormatException or IOException or NotSupportedException)
        {
            return CliOutput.Fail($"demo: {e.Message}");
        }
    }
}
