using System.Text.Json;
using Workbench.Formats;

namespace Workbench.Tokenizers.Training;

/// <summary>
/// The texts a tokenizer is trained on, read from files in one of three layouts:
/// plain text (each line with its line ending, as tokenizers' <c>train_from_files</c> feeds them),
/// a tab-separated column chosen by its header name (NSMC's <c>id\tdocument\tlabel</c>),
/// or string fields of JSON lines (KoAlpaca's <c>instruction</c>, <c>output</c>), each field one text.
/// </summary>
public sealed record TrainingText(string? Column = null, IReadOnlyList<string>? Fields = null)
{
    /// <summary>Every text of every file, in order.</summary>
    public IEnumerable<string> Read(IEnumerable<string> files) => files.SelectMany(Read);

    public IEnumerable<string> Read(string file)
    {
        if (!File.Exists(file)) throw new FileNotFoundException($"{file}: no such training file", file);
        if (Column != null) return TsvColumn(file, Column);
        if (Fields is { Count: > 0 }) return JsonFields(file, Fields);
        return LinesWithEndings(TextFile.ReadAll(file));
    }

    static IEnumerable<string> LinesWithEndings(string text)
    {
        for (int start = 0; start < text.Length;)
        {
            int newline = text.IndexOf('\n', start);
            int end = newline < 0 ? text.Length : newline + 1;
            yield return text[start..end];
            start = end;
        }
    }

    static IEnumerable<string> TsvColumn(string file, string column)
    {
        using var reader = TextFile.OpenReader(file);
        string header = reader.ReadLine() ?? throw new FormatException($"{file}: empty, expected a header line naming column '{column}'");
        int index = Array.IndexOf(header.Split('\t'), column);
        if (index < 0) throw new FormatException($"{file}: header '{header}' has no column '{column}'");
        int lineNumber = 1;
        for (string? line; (line = reader.ReadLine()) != null;)
        {
            lineNumber++;
            if (line.Length == 0) continue;
            var cells = line.Split('\t');
            if (index >= cells.Length) throw new FormatException($"{file}:{lineNumber}: {cells.Length} columns, expected column {index + 1} ('{column}')");
            if (cells[index].Length > 0) yield return cells[index];
        }
    }

    static IEnumerable<string> JsonFields(string file, IReadOnlyList<string> fields)
    {
        int lineNumber = 0;
        foreach (string line in TextFile.ReadLines(file))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException e) { throw new FormatException($"{file}:{lineNumber}: not a JSON object: {e.Message}", e); }
            using (doc)
                foreach (string field in fields)
                    if (doc.RootElement.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s)
                        yield return s;
        }
    }
}
