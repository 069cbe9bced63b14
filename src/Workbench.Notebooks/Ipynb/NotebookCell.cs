using System.Text.Json.Nodes;

namespace Workbench.Notebooks.Ipynb;

/// <summary>
/// One cell of an .ipynb: a view over its JSON object, so fields this class does not know survive a round trip.
/// Code cells carry Polyglot's kernel metadata: <c>{"polyglot_notebook": {"kernelName": "csharp"}}</c>.
/// </summary>
public sealed class NotebookCell
{
    public NotebookCell(JsonObject json) => Json = json;

    public JsonObject Json { get; }

    /// <summary>"code", "markdown" or "raw".</summary>
    public string CellType => Json["cell_type"]?.GetValue<string>() ?? "";

    public bool IsCode => CellType == "code";

    public string Source
    {
        get => NotebookJson.FromLines(Json["source"]);
        set => Json["source"] = NotebookJson.ToLines(value);
    }

    public JsonObject Metadata => Json["metadata"] as JsonObject ?? (JsonObject)(Json["metadata"] = new JsonObject());

    /// <summary>The cell's kernel: polyglot_notebook.kernelName, else the older dotnet_interactive.language, else null.</summary>
    public string? KernelName =>
        Metadata["polyglot_notebook"]?["kernelName"]?.GetValue<string>() ?? Metadata["dotnet_interactive"]?["language"]?.GetValue<string>();

    public IReadOnlyList<string> Tags =>
        Metadata["tags"] is JsonArray tags ? tags.Select(t => t?.GetValue<string>() ?? "").ToList() : [];

    public JsonArray Outputs => Json["outputs"] as JsonArray ?? (JsonArray)(Json["outputs"] = new JsonArray());

    public int? ExecutionCount
    {
        get => Json["execution_count"]?.GetValue<int>();
        set => Json["execution_count"] = value;
    }

    public string? Id
    {
        get => Json["id"]?.GetValue<string>();
        set => Json["id"] = value;
    }

    /// <summary>A C# code cell in Polyglot's format, without outputs.</summary>
    public static NotebookCell Code(string source, params string[] tags)
    {
        var metadata = new JsonObject
        {
            ["dotnet_interactive"] = new JsonObject { ["language"] = PolyglotFormat.KernelName },
            ["polyglot_notebook"] = new JsonObject { ["kernelName"] = PolyglotFormat.KernelName },
        };
        if (tags.Length > 0) metadata["tags"] = new JsonArray(tags.Select(t => (JsonNode?)t).ToArray());
        return new NotebookCell(new JsonObject
        {
            ["cell_type"] = "code",
            ["execution_count"] = null,
            ["id"] = NewId(),
            ["metadata"] = metadata,
            ["outputs"] = new JsonArray(),
            ["source"] = NotebookJson.ToLines(source),
        });
    }

    public static NotebookCell Markdown(string source) => new(new JsonObject
    {
        ["cell_type"] = "markdown",
        ["id"] = NewId(),
        ["metadata"] = new JsonObject(),
        ["source"] = NotebookJson.ToLines(source),
    });

    /// <summary>An nbformat 4.5 cell id: 1–64 characters of [a-zA-Z0-9-_].</summary>
    public static string NewId() => Guid.NewGuid().ToString("N")[..8];
}
