using System.Text;
using System.Text.Json;
using Workbench.Formats;

namespace Workbench.Data;

/// <summary>
/// Reads instruction records from JSON (an array of objects, e.g. Stanford Alpaca's <c>alpaca_data.json</c>)
/// or JSONL (one object per line, e.g. KoAlpaca's <c>KoAlpaca_v1.1.jsonl</c>). The format is decided by the
/// content, not the extension: a file whose first non-blank character is <c>[</c> is a JSON array, anything
/// else is JSONL (KoAlpaca's own scripts copy the .jsonl file to a .json name).
/// JSONL is streamed line by line; blank lines are ignored. A JSON array is parsed whole; a syntax error in
/// it is always fatal (the array cannot be resynchronised), while bad elements follow the policy.
/// </summary>
public static class InstructionFile
{
    /// <summary>Reads all records; bad ones are skipped into <c>warnings</c> or thrown, by <paramref name="policy"/>.</summary>
    public static List<InstructionRecord> Load(string path, RecordSchema schema, BadRecordPolicy policy, List<DataIssue>? warnings = null)
        => Read(path, schema, policy, warnings).ToList();

    /// <summary>Streams records (lazily for JSONL). Skipped records are added to <paramref name="warnings"/> as they are met.</summary>
    public static IEnumerable<InstructionRecord> Read(string path, RecordSchema schema, BadRecordPolicy policy, ICollection<DataIssue>? warnings = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"instruction data file not found: {path}", path);
        return IsJsonArray(path) ? ReadArray(path, schema, policy, warnings) : ReadLines(path, schema, policy, warnings);
    }

    static bool IsJsonArray(string path)
    {
        using var reader = TextFile.OpenReader(path);
        int c;
        while ((c = reader.Read()) >= 0)
            if (!char.IsWhiteSpace((char)c)) return c == '[';
        return false;
    }

    static IEnumerable<InstructionRecord> ReadLines(string path, RecordSchema schema, BadRecordPolicy policy, ICollection<DataIssue>? warnings)
    {
        using var reader = TextFile.OpenReader(path);
        int lineNo = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            InstructionRecord? record = null;
            string? error;
            try
            {
                using var doc = JsonDocument.Parse(line);
                error = TryConvert(doc.RootElement, schema, path, lineNo, out record);
            }
            catch (JsonException e)
            {
                error = $"malformed JSON: {e.Message}";
            }
            if (error is null) yield return record!;
            else Report(new DataIssue(path, lineNo, error), policy, warnings);
        }
    }

    static List<InstructionRecord> ReadArray(string path, RecordSchema schema, BadRecordPolicy policy, ICollection<DataIssue>? warnings)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var records = new List<InstructionRecord>();
        var reader = new Utf8JsonReader(bytes.AsSpan(Utf8Bom(bytes)));
        int offset = Utf8Bom(bytes), line = 1, counted = 0;   // newlines counted incrementally up to each element
        try
        {
            reader.Read();                                        // the opening '['
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                int start = offset + (int)reader.TokenStartIndex;
                for (; counted < start; counted++) if (bytes[counted] == (byte)'\n') line++;
                var element = JsonElement.ParseValue(ref reader);
                string? error = TryConvert(element, schema, path, line, out var record);
                if (error is null) records.Add(record!);
                else Report(new DataIssue(path, line, error), policy, warnings);
            }
        }
        catch (JsonException e)   // includes an unclosed array: the reader rejects incomplete JSON
        {
            int at = e.LineNumber is long l ? (int)l + 1 : line;
            throw new DataFormatException(new DataIssue(path, at, $"malformed JSON: {e.Message}"));
        }
        return records;
    }

    static int Utf8Bom(byte[] b) => b.Length >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF ? 3 : 0;

    static void Report(DataIssue issue, BadRecordPolicy policy, ICollection<DataIssue>? warnings)
    {
        if (policy == BadRecordPolicy.Fail) throw new DataFormatException(issue);
        warnings?.Add(issue);
    }

    /// <summary>Checks one JSON value against the schema; returns null and the record, or an error message.</summary>
    static string? TryConvert(JsonElement e, RecordSchema schema, string path, int line, out InstructionRecord? record)
    {
        record = null;
        if (e.ValueKind != JsonValueKind.Object) return $"expected a JSON object, found {e.ValueKind}";
        var fields = new Dictionary<string, string>();
        foreach (var name in schema.All)
        {
            bool required = schema.Required.Contains(name);
            if (!e.TryGetProperty(name, out var v) || (!required && v.ValueKind == JsonValueKind.Null))
            {
                if (required) return $"missing required field '{name}'";
                continue;
            }
            if (v.ValueKind != JsonValueKind.String) return $"field '{name}' must be a string, found {v.ValueKind}";
            fields[name] = v.GetString()!;
        }
        record = new InstructionRecord(fields, path, line);
        return null;
    }
}
