using System.CommandLine;
using Workbench.Notebooks.Reports;

namespace Workbench.Cli.Commands;

/// <summary><c>wb report RUN_DIR [--html out.html]</c>: a self-contained HTML report of a run folder (<see cref="RunReport"/>).</summary>
public static class ReportCommand
{
    public static Command Build()
    {
        var run = new Argument<string>("run") { Description = "Run folder: train_log.jsonl, train_summary.json, eval_*.json" };
        var html = new Option<string?>("--html") { Description = "The HTML file to write (default: RUN/report.html)" };
        var command = new Command("report", "Rebuild a run's HTML report (loss and learning-rate charts, evaluation results)") { run, html };
        command.SetAction(pr => Run(pr.GetValue(run)!, pr.GetValue(html)));
        return command;
    }

    public static int Run(string runDirectory, string? htmlPath)
    {
        string target = htmlPath ?? Path.Combine(runDirectory, "report.html");
        try { RunReport.Save(runDirectory, target); }
        catch (Exception e) when (e is IOException or InvalidDataException) { return CliOutput.Fail(e.Message); }
        Console.Error.WriteLine($"wrote {target}");
        return 0;
    }
}
