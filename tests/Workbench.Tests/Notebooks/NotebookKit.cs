using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive.Documents;
using Workbench.Notebooks;
using Workbench.Notebooks.Running;
using Workbench.Tests.Support;

namespace Workbench.Tests.Notebooks;

/// <summary>Small notebooks built in code, runs in-process and through <c>wb</c>, and an nbformat 4.5 + Polyglot structure check.</summary>
public static partial class NotebookKit
{
    public static string NotebookPath(string name) => Path.Combine(RepoPaths.Root, "notebooks", name);

    /// <summary>A notebook of C# cells; a text starting with "# " is a markdown cell.</summary>
    public static InteractiveDocument Of(params string[] cells)
    {
        var notebook = NotebookFile.Parse(EmptyPolyglotNotebook);
        foreach (var text in cells)
            notebook.Elements.Add(text.StartsWith("# ") ? NotebookFile.MarkdownCell(text) : NotebookFile.Code(text));
        return notebook;
    }

    /// <summary>Runs in this process (cells that need no package), from <paramref name="directory"/> or a temporary folder.</summary>
    public static NotebookRunResult Run(InteractiveDocument notebook, NotebookRunOptions? options = null, string? directory = null) =>
        NotebookRunner.RunAsync(notebook, directory ?? Path.GetTempPath(), options).GetAwaiter().GetResult();

    /// <summary>
    /// Runs <c>wb notebook run</c> in its own process, as a user does (the kernel then loads the Workbench package,
    /// not this test's copy of the library): the exit code, the --json result and the executed notebook's text.
    /// </summary>
    public static (int Code, JsonObject Result, string Executed, string Stderr) RunWb(string notebook, string outDirectory, params string[] parameters)
    {
        string executed = Path.Combine(outDirectory, Path.GetFileName(notebook));
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = outDirectory };
        foreach (var a in new[] { WbProcess.Dll, "notebook", "run", notebook, "--out", executed, "--json" }) start.ArgumentList.Add(a);
        foreach (var p in parameters) { start.ArgumentList.Add("--param"); start.ArgumentList.Add(p); }
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(300_000)) { process.Kill(entireProcessTree: true); Assert.Fail($"{notebook} did not finish in 300 s"); }
        Assert.True(stdout.Length > 0, $"wb printed nothing: {stderr.Result}");
        return (process.ExitCode, JsonNode.Parse(stdout)!.AsObject(), File.Exists(executed) ? File.ReadAllText(executed) : "", stderr.Result);
    }

    /// <summary>The code cell with this nbformat id.</summary>
    public static InteractiveDocumentElement Cell(this InteractiveDocument notebook, string id) => notebook.Elements.Single(c => c.Id == id);

    public static string Text(this InteractiveDocumentOutputElement output) => Assert.IsType<TextElement>(output).Text;

    public static string Mime(this InteractiveDocumentOutputElement output, string mime) => NotebookFile.Text(output switch
    {
        DisplayElement d => d.Data[mime],
        ReturnValueElement r => r.Data[mime],
        _ => throw new Xunit.Sdk.XunitException($"{output.GetType().Name} has no MIME data"),
    });

    public static bool Has(this InteractiveDocumentOutputElement output, string mime) =>
        output is DisplayElement d ? d.Data.ContainsKey(mime) : output is ReturnValueElement r && r.Data.ContainsKey(mime);

    /// <summary>
    /// Asserts what the nbformat 4.5 JSON schema requires of the document, its cells and outputs (required keys,
    /// no extra keys, id pattern and uniqueness, multiline strings) and Polyglot's C# metadata.
    /// </summary>
    public static void AssertValidPolyglotNotebook(string json)
    {
        var root = JsonNode.Parse(json)!.AsObject();
        Assert.Equal(4, root["nbformat"]!.GetValue<int>());
        Assert.True(root["nbformat_minor"]!.GetValue<int>() >= 5);
        var metadata = root["metadata"]!.AsObject();
        Assert.Equal(".net-csharp", metadata["kernelspec"]!["name"]!.GetValue<string>());
        Assert.Equal("C#", metadata["language_info"]!["name"]!.GetValue<string>());
        Assert.Equal("csharp", metadata["polyglot_notebook"]!["kernelInfo"]!["defaultKernelName"]!.GetValue<string>());

        var ids = new HashSet<string>();
        foreach (var cell in root["cells"]!.AsArray().Select(c => c!.AsObject()))
        {
            string id = cell["id"]!.GetValue<string>();
            Assert.Matches(CellId(), id);
            Assert.True(ids.Add(id), $"duplicate cell id {id}");
            AssertMultiline(cell["source"]);
            string type = cell["cell_type"]!.GetValue<string>();
            string[] allowed = type switch
            {
                "code" => ["cell_type", "execution_count", "id", "metadata", "outputs", "source"],
                "markdown" or "raw" => ["attachments", "cell_type", "id", "metadata", "source"],
                _ => throw new Xunit.Sdk.XunitException($"cell_type {type}"),
            };
            Assert.All(cell.Select(p => p.Key), k => Assert.Contains(k, allowed));
            if (type != "code") continue;
            Assert.Equal("csharp", cell["metadata"]!["polyglot_notebook"]!["kernelName"]!.GetValue<string>());
            Assert.True(cell["execution_count"] is null || cell["execution_count"]!.GetValue<int>() > 0);
            foreach (var output in cell["outputs"]!.AsArray().Select(o => o!.AsObject())) AssertOutput(output);
        }
    }

    private static void AssertOutput(JsonObject output)
    {
        string[] keys = output["output_type"]!.GetValue<string>() switch
        {
            "stream" => ["name", "output_type", "text"],
            "display_data" => ["data", "metadata", "output_type"],
            "execute_result" => ["data", "execution_count", "metadata", "output_type"],
            "error" => ["ename", "evalue", "output_type", "traceback"],
            var other => throw new Xunit.Sdk.XunitException($"output_type {other}"),
        };
        Assert.Equal(keys, output.Select(p => p.Key).Order(StringComparer.Ordinal));
        if (output["text"] is { } text) AssertMultiline(text);
        if (output["data"] is JsonObject data) foreach (var (_, value) in data) AssertMultiline(value);
    }

    private static void AssertMultiline(JsonNode? node)
    {
        if (node is JsonArray lines) Assert.All(lines, l => Assert.IsType<string>(l!.GetValue<string>()));
        else Assert.IsType<string>(node!.GetValue<string>());
    }

    private const string EmptyPolyglotNotebook = """
        {"cells": [], "nbformat": 4, "nbformat_minor": 5,
         "metadata": {"kernelspec": {"display_name": ".NET (C#)", "language": "C#", "name": ".net-csharp"},
                      "language_info": {"name": "C#"},
                      "polyglot_notebook": {"kernelInfo": {"defaultKernelName": "csharp", "items": [{"aliases": [], "languageName": "C#", "name": "csharp"}]}}}}
        """;

    [GeneratedRegex("^[a-zA-Z0-9-_]{1,64}$")]
    private static partial Regex CellId();
}
