using System.Text.Json;

namespace Workbench.Formats;

/// <summary>A JSON file read as a document: strict UTF-8 (<see cref="TextFile"/>), and a syntax error named with the file and line.</summary>
public static class JsonFile
{
    public static JsonDocument Parse(string path, JsonDocumentOptions options = default)
    {
        var text = TextFile.ReadAll(path);
        try { return JsonDocument.Parse(text, options); }
        catch (JsonException e) { throw new FormatException($"{path}:{e.LineNumber + 1}: not valid JSON ({Reason(e)})"); }
    }

    /// <summary>The parser's reason without its position suffix (the caller names the line).</summary>
    public static string Reason(JsonException e) => e.Message.Split(" Path: ")[0].Split(" LineNumber: ")[0].TrimEnd(' ', '.', '|');
}
