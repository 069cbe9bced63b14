using System.CommandLine;
using System.Text.Json.Nodes;
using Workbench.Notebooks.Reports;

using Workbench.Formats;

namespace Workbench.Cli.Commands;

/// <summary><c>wb report RUN_DIR [--html out.html] [--json]</c>: a self-contained HTML report of a run folder (<see cref="RunReport"/>).</summary>
public static class ReportCommand
{
    public static Command Build()
    {
        var run = new Argument<string>("run") { Description = "Run folder: train_log.jsonl, train_summary.json, eval_*.json" };
        var html = new Option<string?>("--html") { Description = "The HTML file to write (default: RUN/report.html)" };
        var force = new Option<bool>("--force") { Description = "replace an existing --html file" };
        var json = new Option<bool>("--json") { Description = "print {\"html\": path} on stdout" };
        var command = new Command("report", "Rebuild a run's HTML report (loss and learning-rate charts, evaluation results)") { run, html, force, json };
        command.SetAction(pr => Run(pr.GetValue(run)!, pr.GetValue(html), pr.GetValue(force), pr.GetValue(json)));
        return command;
    }

    /// <summary>The run's own report.html is rebuilt in place; a file given with --html follows <see cref="OutputFile"/>.</summary>
    public static int Run(string runDirectory, string? htmlPath, bool force, bool json)
    {
        string target = htmlPath ?? Path.Combine(runDirectory, "report.html");
        try
        {
            if (htmlPath is not null) OutputFile.Claim(htmlPath, force);
            RunReport.Save(runDirectory, target);
        }
        catch (Exception e) when (e is IOException or InvalidDataException) { return CliOutput.Fail(e.Message); }
        Console.Error.WriteLine($"wrote {target}");
        if (json) CliOutput.WriteJson(new JsonObject { ["html"] = Path.GetFullPath(target) });
        return 0;
    }
}
