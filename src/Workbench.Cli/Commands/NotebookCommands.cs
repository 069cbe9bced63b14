using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using Workbench.Formats;
using Workbench.Notebooks;
using Workbench.Notebooks.Export;
using Microsoft.DotNet.Interactive.Documents;
using Workbench.Notebooks.Reports;
using Workbench.Notebooks.Running;

namespace Workbench.Cli.Commands;

/// <summary><c>wb notebook run|export</c>: runs .ipynb notebooks on the .NET Interactive C# kernel headless, writes reports, exports apps.</summary>
public static class NotebookCommands
{
    public static Command Build()
    {
        var notebook = new Command("notebook", "Run Polyglot (.ipynb) notebooks on the .NET Interactive C# kernel headless; export them as file-based apps");
        notebook.Subcommands.Add(BuildRun());
        notebook.Subcommands.Add(BuildExport());
        return notebook;
    }

    private static Command BuildRun()
    {
        var path = new Argument<string>("notebook") { Description = "The .ipynb to run" };
        var output = new Option<string?>("--out") { Description = "Write the executed notebook (outputs included) here" };
        var html = new Option<string?>("--html") { Description = "Write a self-contained HTML report here (opens offline)" };
        var parameters = new Option<string[]>("--param")
        {
            Description = "name=value for the cell tagged 'parameters' (repeatable)",
            AllowMultipleArgumentsPerToken = false,
        };
        var keepGoing = new Option<bool>("--continue") { Description = "Run the remaining cells after a failing one" };
        var force = new Option<bool>("--force") { Description = "Replace existing --out / --html files" };
        var json = JsonOption("print each code cell's result (and the files written) as one JSON object");
        var run = new Command("run", "Execute the notebook's cells in order on the C# kernel, from the notebook's folder") { path, output, html, parameters, keepGoing, force, json };
        run.SetAction(async (parse, cancel) =>
        {
            string file = parse.GetValue(path)!;
            if (!File.Exists(file)) return CliOutput.Fail($"{file}: no such notebook");
            InteractiveDocument source;
            Dictionary<string, string> values;
            try
            {
                source = NotebookFile.Load(file);
                values = NotebookParameters.Parse(parse.GetValue(parameters) ?? []);
                foreach (var target in new[] { parse.GetValue(output), parse.GetValue(html) }.OfType<string>())
                    OutputFile.Claim(target, parse.GetValue(force), file);   // before the cells run, not after
            }
            catch (Exception e) when (e is InvalidDataException or ArgumentException or IOException) { return CliOutput.Fail(e.Message); }

            var progress = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            NotebookRunResult result;
            try
            {
                result = await NotebookRunner.RunAsync(source, Path.GetDirectoryName(Path.GetFullPath(file))!, new NotebookRunOptions
                {
                    Parameters = values,
                    ContinueOnError = parse.GetValue(keepGoing),
                    OnCellStarting = c => progress.MarkupLine($"[grey]cell {c.CellNumber} [[{c.ExecutionCount}]][/] {Markup.Escape(Shorten(c.FirstLine))}"),
                    OnCellFinished = c => progress.MarkupLine(c.Failed
                        ? $"[red]cell {c.CellNumber} failed[/] ({c.Elapsed.TotalSeconds:F2} s): {Markup.Escape(Shorten(c.Error!))}"
                        : $"[green]cell {c.CellNumber} ok[/] ({c.Elapsed.TotalSeconds:F2} s)"),
                });
            }
            catch (ArgumentException e) { return CliOutput.Fail(e.Message); }

            if (parse.GetValue(output) is { } executedPath) NotebookFile.Save(result.Executed, executedPath);
            if (parse.GetValue(html) is { } htmlPath) HtmlReport.Save(result.Executed, Path.GetFileNameWithoutExtension(file), htmlPath);
            if (parse.GetValue(json)) CliOutput.WriteJson(RunJson(file, result, parse.GetValue(output), parse.GetValue(html)));
            if (result.FirstFailure is { } failure)
            {
                Console.Error.WriteLine($"wb: {file}: cell {failure.CellNumber} failed: {failure.Error}");
                return 1;
            }
            progress.MarkupLine($"[green]{Markup.Escape(file)}: {result.Cells.Count} code cells ran[/]");
            return 0;
        });
        return run;
    }

    private static Command BuildExport()
    {
        var path = new Argument<string>("notebook") { Description = "The .ipynb to export" };
        var output = new Option<string?>("--out") { Description = "The .cs file to write (default: next to the notebook)" };
        var force = new Option<bool>("--force") { Description = "Replace an existing .cs file" };
        var json = JsonOption("print {\"out\": path} on stdout");
        var export = new Command("export", "Write the notebook as a .NET 10 file-based app (dotnet run file.cs)") { path, output, force, json };
        export.SetAction(parse =>
        {
            string file = parse.GetValue(path)!;
            if (!File.Exists(file)) return CliOutput.Fail($"{file}: no such notebook");
            string target = parse.GetValue(output) ?? Path.ChangeExtension(file, ".cs");
            try
            {
                OutputFile.Claim(target, parse.GetValue(force), file);
                var notebook = NotebookFile.Load(file);
                string code = FileAppExporter.Export(notebook, Path.GetFileName(file), Path.GetDirectoryName(Path.GetFullPath(file))!,
                    Path.GetDirectoryName(Path.GetFullPath(target))!);
                AtomicFile.WriteAllText(target, code);
            }
            catch (Exception e) when (e is InvalidDataException or NotSupportedException or IOException) { return CliOutput.Fail(e.Message); }
            Console.Error.WriteLine($"wrote {target}; run it with: dotnet run {target}");
            if (parse.GetValue(json)) CliOutput.WriteJson(new JsonObject { ["out"] = Path.GetFullPath(target) });
            return 0;
        });
        return export;
    }

    private static Option<bool> JsonOption(string description) => new("--json") { Description = description };

    private static JsonObject RunJson(string file, NotebookRunResult result, string? executed, string? html) => new()
    {
        ["notebook"] = Path.GetFullPath(file),
        ["succeeded"] = result.Succeeded,
        ["cells"] = new JsonArray(result.Cells.Select(c => (JsonNode)new JsonObject
        {
            ["cell"] = c.CellNumber, ["execution_count"] = c.ExecutionCount, ["status"] = c.Failed ? "failed" : "ok",
            ["seconds"] = Math.Round(c.Elapsed.TotalSeconds, 3), ["error"] = c.Error,
            ["warnings"] = new JsonArray(c.Warnings.Select(w => (JsonNode?)w).ToArray()),
            ["outputs"] = new JsonArray(c.Outputs.Select(o => (JsonNode?)o).ToArray()),
        }).ToArray()),
        ["out"] = executed is null ? null : Path.GetFullPath(executed),
        ["html"] = html is null ? null : Path.GetFullPath(html),
    };

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";
}
