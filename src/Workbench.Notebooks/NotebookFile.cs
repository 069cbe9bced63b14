using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;
using Workbench.Notebooks.Running;

namespace Workbench.Notebooks;

/// <summary>
/// .ipynb files read and written by Microsoft.DotNet.Interactive.Documents, the code Polyglot Notebooks saves
/// them with, so an executed notebook is byte for byte what Polyglot would write for the same outputs.
/// </summary>
public static class NotebookFile
{
    public const string Markdown = "markdown";

    public static InteractiveDocument Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such notebook", path);
        try { return Parse(TextFile.ReadAll(path)); }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    public static InteractiveDocument Parse(string json) => Notebook.Parse(json, NotebookKernel.Languages());

    public static string ToJson(InteractiveDocument notebook) => notebook.ToJupyterJson();

    /// <summary>Writes the notebook atomically (temporary file, then rename).</summary>
    public static void Save(InteractiveDocument notebook, string path) => AtomicFile.WriteAllText(path, ToJson(notebook));

    /// <summary>A deep copy (outputs and all).</summary>
    public static InteractiveDocument Clone(InteractiveDocument notebook) => Parse(ToJson(notebook));

    public static bool IsCode(InteractiveDocumentElement cell) => cell.KernelName != Markdown;

    public static IReadOnlyList<string> Tags(InteractiveDocumentElement cell) =>
        cell.Metadata?.TryGetValue("tags", out var tags) == true && tags is IEnumerable<object> list ? list.Select(t => t.ToString() ?? "").ToList() : [];

    /// <summary>A MIME value as text: Documents keeps a value read from a file as its array of lines.</summary>
    public static string Text(object value) => value switch
    {
        string s => s,
        IEnumerable<object> lines => string.Concat(lines),
        _ => value.ToString() ?? "",
    };

    /// <summary>A C# code cell with an nbformat 4.5 id and the given tags.</summary>
    public static InteractiveDocumentElement Code(string source, params string[] tags)
    {
        var cell = new InteractiveDocumentElement(source, NotebookKernel.CSharp) { Id = NewId() };
        if (tags.Length > 0) cell.Metadata = new Dictionary<string, object> { ["tags"] = tags.Cast<object>().ToList() };
        return cell;
    }

    public static InteractiveDocumentElement MarkdownCell(string source) => new(source, Markdown) { Id = NewId() };

    /// <summary>An nbformat 4.5 cell id: 1–64 characters of [a-zA-Z0-9-_].</summary>
    public static string NewId() => Guid.NewGuid().ToString("N")[..8];
}
