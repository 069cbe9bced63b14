using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Workbench.Notebooks.Ipynb;
using Workbench.Notebooks.Running;

namespace Workbench.Tests.Notebooks;

/// <summary>The sample notebook, small notebooks built in code, and an nbformat 4.5 + Polyglot structure check.</summary>
public static partial class NotebookKit
{
    public static string HelloPath => Path.Combine(AppContext.BaseDirectory, "notebooks", "Hello.ipynb");

    public static Notebook Hello() => Notebook.Load(HelloPath);

    public static Notebook Of(params string[] codeCells)
    {
        var notebook = Notebook.CreatePolyglot();
        foreach (var code in codeCells)
            notebook.Cells.Add(code.StartsWith("# ") ? NotebookCell.Markdown(code) : NotebookCell.Code(code));
        return notebook;
    }

    public static NotebookRunResult Run(Notebook notebook, NotebookRunOptions? options = null, string? directory = null) =>
        NotebookRunner.RunAsync(notebook, directory ?? Path.GetDirectoryName(HelloPath)!, options).GetAwaiter().GetResult();

    /// <summary>The code cell with this nbformat id.</summary>
    public static NotebookCell Cell(this Notebook notebook, string id) => notebook.Cells.Single(c => c.Id == id);

    public static IReadOnlyList<JsonObject> OutputList(this NotebookCell cell) => cell.Outputs.OfType<JsonObject>().ToList();

    public static string Type(this JsonObject output) => output["output_type"]!.GetValue<string>();

    public static string Text(this JsonObject output) => NotebookJson.FromLines(output["text"]);

    public static string Mime(this JsonObject output, string mime) => CellOutputs.DataOf(output)[mime];

    /// <summary>
    /// Asserts what the nbformat 4.5 JSON schema requires of the document, its cells and outputs (required keys,
    /// no extra keys on cells, id pattern and uniqueness, multiline strings) and Polyglot's C# metadata.
    /// </summary>
    public static void AssertValidPolyglotNotebook(string json)
    {
        var root = JsonNode.Parse(json)!.AsObject();
        Assert.Equal(4, root["nbformat"]!.GetValue<int>());
        Assert.True(root["nbformat_minor"]!.GetValue<int>() >= 5);
        var metadata = root["metadata"]!.AsObject();
        Assert.Equal(".net-csharp", metadata["kernelspec"]!["name"]!.GetValue<string>());
        Assert.Equal(".NET (C#)", metadata["kernelspec"]!["display_name"]!.GetValue<string>());
        Assert.Equal("C#", metadata["kernelspec"]!["language"]!.GetValue<string>());
        Assert.Equal("C#", metadata["language_info"]!["name"]!.GetValue<string>());
        var kernelInfo = metadata["polyglot_notebook"]!["kernelInfo"]!;
        Assert.Equal("csharp", kernelInfo["defaultKernelName"]!.GetValue<string>());
        Assert.Contains(kernelInfo["items"]!.AsArray(), i => i!["name"]!.GetValue<string>() == "csharp");

        var ids = new HashSet<string>();
        foreach (var cell in root["cells"]!.AsArray().Select(c => c!.AsObject()))
        {
            string id = cell["id"]!.GetValue<string>();
            Assert.Matches(CellId(), id);
            Assert.True(ids.Add(id), $"duplicate cell id {id}");
            AssertMultiline(cell["source"]);
            Assert.IsType<JsonObject>(cell["metadata"]);
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
            Assert.True(cell.ContainsKey("execution_count"));
            Assert.True(cell["execution_count"] is null || cell["execution_count"]!.GetValue<int>() > 0);
            foreach (var output in cell["outputs"]!.AsArray().Select(o => o!.AsObject())) AssertOutput(output);
        }
    }

    private static void AssertOutput(JsonObject output)
    {
        string[] keys = output.Type() switch
        {
            "stream" => ["name", "output_type", "text"],
            "display_data" => ["data", "metadata", "output_type"],
            "execute_result" => ["data", "execution_count", "metadata", "output_type"],
            "error" => ["ename", "evalue", "output_type", "traceback"],
            var other => throw new Xunit.Sdk.XunitException($"output_type {other}"),
        };
        Assert.Equal(keys, output.Select(p => p.Key).Order(StringComparer.Ordinal));
        if (output.Type() == "stream")
        {
            Assert.Contains(output["name"]!.GetValue<string>(), new[] { "stdout", "stderr" });
            AssertMultiline(output["text"]);
        }
        if (output["data"] is JsonObject data) foreach (var (_, value) in data) AssertMultiline(value);
        if (output["traceback"] is JsonArray traceback) Assert.All(traceback, l => Assert.IsType<string>(l!.GetValue<string>()));
    }

    private static void AssertMultiline(JsonNode? node)
    {
        if (node is JsonArray lines) Assert.All(lines, l => Assert.IsType<string>(l!.GetValue<string>()));
        else Assert.IsType<string>(node!.GetValue<string>());
    }

    [GeneratedRegex("^[a-zA-Z0-9-_]{1,64}$")]
    private static partial Regex CellId();
}
