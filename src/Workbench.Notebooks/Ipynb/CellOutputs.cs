using System.Text.Json.Nodes;

namespace Workbench.Notebooks.Ipynb;

/// <summary>
/// Jupyter output objects (nbformat 4 output schema) as Polyglot Notebooks writes them
/// (Microsoft.DotNet.Interactive.Documents/Jupyter/InteractiveDocumentOutputElementConverter):
/// every MIME value and stream text is an array of lines.
/// </summary>
public static class CellOutputs
{
    /// <summary><c>{"name": "stdout"|"stderr", "output_type": "stream", "text": [...]}</c></summary>
    public static JsonObject Stream(string name, string text) => new()
    {
        ["name"] = name,
        ["output_type"] = "stream",
        ["text"] = NotebookJson.ToLines(text),
    };

    /// <summary>The cell's value: <c>{"data": {...}, "execution_count": n, "metadata": {}, "output_type": "execute_result"}</c>.</summary>
    public static JsonObject ExecuteResult(int executionCount, IReadOnlyDictionary<string, string> data) => new()
    {
        ["data"] = Data(data),
        ["execution_count"] = executionCount,
        ["metadata"] = new JsonObject(),
        ["output_type"] = "execute_result",
    };

    /// <summary>A <c>display(...)</c> call: <c>{"data": {...}, "metadata": {}, "output_type": "display_data"}</c>.</summary>
    public static JsonObject DisplayData(IReadOnlyDictionary<string, string> data) => new()
    {
        ["data"] = Data(data),
        ["metadata"] = new JsonObject(),
        ["output_type"] = "display_data",
    };

    /// <summary><c>{"ename": ..., "evalue": ..., "output_type": "error", "traceback": [...]}</c></summary>
    public static JsonObject Error(string name, string value, IEnumerable<string> traceback) => new()
    {
        ["ename"] = name,
        ["evalue"] = value,
        ["output_type"] = "error",
        ["traceback"] = new JsonArray(traceback.Select(l => (JsonNode?)l).ToArray()),
    };

    /// <summary>The MIME bundle of a display_data or execute_result output.</summary>
    public static Dictionary<string, string> DataOf(JsonObject output) =>
        output["data"] is JsonObject data
            ? data.ToDictionary(p => p.Key, p => p.Value is JsonArray || p.Value?.GetValueKind() == System.Text.Json.JsonValueKind.String
                ? NotebookJson.FromLines(p.Value)
                : p.Value?.ToJsonString() ?? "") // application/json and other structured MIME values
            : [];

    private static JsonObject Data(IReadOnlyDictionary<string, string> data)
    {
        var json = new JsonObject();
        foreach (var (mime, text) in data) json[mime] = NotebookJson.ToLines(text);
        return json;
    }
}
