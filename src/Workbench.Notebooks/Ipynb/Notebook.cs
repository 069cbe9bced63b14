using System.Text.Json;
using System.Text.Json.Nodes;

namespace Workbench.Notebooks.Ipynb;

/// <summary>
/// An nbformat 4 notebook (.ipynb). The whole JSON document is kept, so unknown fields (other tools' metadata,
/// widgets, attachments) survive reading and writing; <see cref="Cells"/> are views over the cell objects.
/// </summary>
public sealed class Notebook
{
    private Notebook(JsonObject root, List<NotebookCell> cells)
    {
        Root = root;
        Cells = cells;
    }

    public JsonObject Root { get; }

    public List<NotebookCell> Cells { get; }

    public JsonObject Metadata => Root["metadata"] as JsonObject ?? (JsonObject)(Root["metadata"] = new JsonObject());

    /// <summary>An empty C# notebook in Polyglot's format (nbformat 4.5).</summary>
    public static Notebook CreatePolyglot()
    {
        var notebook = new Notebook(new JsonObject { ["metadata"] = new JsonObject(), ["nbformat"] = 4, ["nbformat_minor"] = 5 }, []);
        PolyglotFormat.Apply(notebook.Metadata);
        return notebook;
    }

    public static Notebook Load(string path)
    {
        try { return Parse(File.ReadAllText(path)); }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    public static Notebook Parse(string json)
    {
        if (JsonNode.Parse(json) is not JsonObject root) throw new InvalidDataException("a notebook is a JSON object");
        int major = root["nbformat"]?.GetValue<int>() ?? 0;
        if (major != 4) throw new InvalidDataException($"nbformat {major} is not supported (expected 4)");
        if (root["cells"] is not JsonArray cells) throw new InvalidDataException("no \"cells\" array");
        return new Notebook(root, cells.Select((c, i) =>
            c is JsonObject cell ? new NotebookCell(cell) : throw new InvalidDataException($"cell {i + 1} is not a JSON object")).ToList());
    }

    /// <summary>A deep copy (outputs and all).</summary>
    public Notebook Clone() => Parse(ToJson());

    /// <summary>The notebook as Jupyter writes it; cells get ids when the format (4.5+) requires them.</summary>
    public string ToJson()
    {
        bool needsIds = (Root["nbformat_minor"]?.GetValue<int>() ?? 0) >= 5;
        var cells = new JsonArray();
        foreach (var cell in Cells)
        {
            if (needsIds && cell.Id is null) cell.Id = NotebookCell.NewId();
            cell.Json.Parent?.AsArray().Remove(cell.Json);
            cells.Add(cell.Json);
        }
        Root["cells"] = cells;
        return NotebookJson.Write(Root);
    }

    /// <summary>Writes the notebook atomically (temporary file, then rename).</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson());
}
