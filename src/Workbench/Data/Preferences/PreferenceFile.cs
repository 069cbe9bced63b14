using System.Text;
using System.Text.Json;

namespace Workbench.Data.Preferences;

/// <summary>
/// Reads TRL's preference datasets from JSON (an array of objects) or JSONL (one object per line), decided by the first
/// non-blank character as for instruction data. Each record is one of TRL's four preference forms:
/// standard (<c>prompt</c>, <c>chosen</c>, <c>rejected</c> strings), standard with an implicit prompt (<c>chosen</c> and
/// <c>rejected</c> only; the prompt is their common prefix, TRL's <c>extract_prompt</c>), conversational (lists of
/// <c>{"role", "content"}</c> messages) and conversational with an implicit prompt (the common leading messages).
/// Conversations are rendered as TRL's <c>apply_chat_template</c> does for preference data: the prompt with a generation
/// prompt, prompt + chosen and prompt + rejected whole, the prompt being the common prefix of the three texts.
/// Every problem names the file and line: bytes that are not UTF-8, malformed JSON, a missing or mistyped field, an empty
/// chosen or rejected completion. Pairs whose two completions are identical carry no preference: they are dropped with a
/// warning, and a file of nothing else is an error.
/// </summary>
public static class PreferenceFile
{
    /// <param name="chat">How conversations become text (the model's chat template, or an instruction template).</param>
    /// <param name="warnings">Dropped pairs, as "file:line: why".</param>
    public static List<PreferencePair> Load(string path, IChatFormat chat, List<string>? warnings = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"preference data file not found: {path}", path);
        var bytes = File.ReadAllBytes(path);
        int start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        if (FirstInvalidUtf8(bytes, start) is int bad)
            throw Issue(path, LineAt(bytes, bad), $"not UTF-8: byte 0x{bytes[bad]:X2} at offset {bad} does not begin a valid UTF-8 sequence");
        var pairs = new List<PreferencePair>();
        int identical = 0, firstIdentical = 0;
        foreach (var (element, line) in Elements(path, bytes, start))
        {
            var pair = Convert(element, chat, path, line);
            if (pair.Chosen == pair.Rejected)
            {
                if (identical++ == 0) firstIdentical = line;
                warnings?.Add($"{path}:{line}: chosen and rejected are identical; pair dropped");
                continue;
            }
            pairs.Add(pair);
        }
        if (pairs.Count == 0 && identical > 0)
            throw Issue(path, firstIdentical, $"chosen equals rejected in every record ({identical}): no preference to learn");
        if (pairs.Count == 0) throw Issue(path, 1, "no preference records");
        return pairs;
    }

    /// <summary>Writes pairs as TRL's standard form, one <c>{"prompt", "chosen", "rejected"}</c> object per line (atomically).</summary>
    public static void Write(string path, IEnumerable<PreferencePair> pairs)
    {
        var options = new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        var lines = pairs.Select(p => JsonSerializer.Serialize(new Dictionary<string, string> { ["prompt"] = p.Prompt, ["chosen"] = p.Chosen, ["rejected"] = p.Rejected }, options) + "\n");
        Formats.AtomicFile.WriteAllText(path, string.Concat(lines));
    }

    /// <summary>Each top-level object with the 1-based line it starts on.</summary>
    private static IEnumerable<(JsonElement Element, int Line)> Elements(string path, byte[] bytes, int start)
    {
        int first = start;
        while (first < bytes.Length && bytes[first] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') first++;
        if (first < bytes.Length && bytes[first] == (byte)'[') return ArrayElements(path, bytes, start);
        return LineElements(path, bytes, start);
    }

    private static List<(JsonElement, int)> LineElements(string path, byte[] bytes, int start)
    {
        var result = new List<(JsonElement, int)>();
        int line = 0;
        for (int from = start; from < bytes.Length;)
        {
            int end = Array.IndexOf(bytes, (byte)'\n', from);
            if (end < 0) end = bytes.Length;
            line++;
            var text = bytes.AsSpan(from, end - from);
            from = end + 1;
            if (text.Trim(" \t\r"u8).Length == 0) continue;
            try { result.Add((JsonDocument.Parse(text.ToArray()).RootElement, line)); }
            catch (JsonException e) { throw Issue(path, line, $"malformed JSON: {e.Message}"); }
        }
        return result;
    }

    private static List<(JsonElement, int)> ArrayElements(string path, byte[] bytes, int start)
    {
        var result = new List<(JsonElement, int)>();
        var reader = new Utf8JsonReader(bytes.AsSpan(start));
        try
        {
            reader.Read();                                             // the opening '['
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                int line = LineAt(bytes, start + (int)reader.TokenStartIndex);
                result.Add((JsonElement.ParseValue(ref reader), line));
            }
        }
        catch (JsonException e) { throw Issue(path, e.LineNumber is long l ? (int)l + 1 : 1, $"malformed JSON: {e.Message}"); }
        return result;
    }

    /// <summary>One record in any of TRL's four forms → the rendered pair, or a <see cref="DataFormatException"/>.</summary>
    private static PreferencePair Convert(JsonElement e, IChatFormat chat, string path, int line)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Issue(path, line, $"expected a JSON object, found {e.ValueKind}");
        foreach (var field in new[] { "chosen", "rejected" })
            if (!e.TryGetProperty(field, out _)) throw Issue(path, line, $"missing required field '{field}'");
        bool hasPrompt = e.TryGetProperty("prompt", out var prompt);
        var chosen = e.GetProperty("chosen");
        var rejected = e.GetProperty("rejected");
        bool conversational = chosen.ValueKind == JsonValueKind.Array;
        foreach (var (name, v) in new[] { ("chosen", chosen), ("rejected", rejected) }.Concat(hasPrompt ? [("prompt", prompt)] : []))
        {
            var expected = conversational ? JsonValueKind.Array : JsonValueKind.String;
            if (v.ValueKind != expected)
                throw Issue(path, line, $"field '{name}' must be {(conversational ? "a list of messages, like 'chosen'" : "a string")}, found {v.ValueKind}");
        }

        PreferencePair pair;
        if (!conversational)
        {
            var (p, c, r) = hasPrompt ? (prompt.GetString()!, chosen.GetString()!, rejected.GetString()!)
                : ExtractPrompt(chosen.GetString()!, rejected.GetString()!);
            pair = new PreferencePair(p, c, r, path, line);
        }
        else
        {
            var c = Messages(chosen, "chosen", path, line);
            var r = Messages(rejected, "rejected", path, line);
            List<ChatMessage> p;
            if (hasPrompt) p = Messages(prompt, "prompt", path, line);
            else
            {
                int shared = 0;
                while (shared < Math.Min(c.Count, r.Count) && c[shared] == r[shared]) shared++;
                p = c.Take(shared).ToList();
                (c, r) = (c.Skip(shared).ToList(), r.Skip(shared).ToList());
            }
            if (p.Count == 0) throw Issue(path, line, "conversation has no prompt messages");
            pair = Render(p, c, r, chat, path, line);
        }
        if (pair.Chosen.Trim().Length == 0) throw Issue(path, line, "empty chosen completion");
        if (pair.Rejected.Trim().Length == 0) throw Issue(path, line, "empty rejected completion");
        return pair;
    }

    /// <summary>
    /// TRL's <c>extract_prompt</c> for text: the prompt is the longest common prefix of chosen and rejected, less a final
    /// space, which stays with the completions.
    /// </summary>
    public static (string Prompt, string Chosen, string Rejected) ExtractPrompt(string chosen, string rejected)
    {
        int idx = 0, n = Math.Min(chosen.Length, rejected.Length);
        while (idx < n && chosen[idx] == rejected[idx]) idx++;
        if (idx < n && idx > 0 && chosen[idx - 1] == ' ') idx--;
        return (chosen[..idx], chosen[idx..], rejected[idx..]);
    }

    /// <summary>TRL's <c>apply_chat_template</c> for an explicit prompt: the common prefix of the three renderings is the prompt.</summary>
    private static PreferencePair Render(List<ChatMessage> prompt, List<ChatMessage> chosen, List<ChatMessage> rejected, IChatFormat chat, string path, int line)
    {
        string last = prompt[^1].Role;
        if (last is not ("user" or "assistant" or "tool")) throw Issue(path, line, $"the prompt's last message has role '{last}'; expected user (or assistant, continued)");
        string text;
        try { text = chat.Render(prompt, addGenerationPrompt: last != "assistant"); }
        catch (FormatException e) { throw Issue(path, line, e.Message); }
        string withChosen, withRejected;
        try { (withChosen, withRejected) = (chat.Render([.. prompt, .. chosen], false), chat.Render([.. prompt, .. rejected], false)); }
        catch (FormatException e) { throw Issue(path, line, e.Message); }
        int shared = Math.Min(CommonPrefix(text, withChosen), CommonPrefix(text, withRejected));
        return new PreferencePair(text[..shared], withChosen[shared..], withRejected[shared..], path, line, AppendEos: !chat.EndsTurns);

        static int CommonPrefix(string a, string b)
        {
            int i = 0, n = Math.Min(a.Length, b.Length);
            while (i < n && a[i] == b[i]) i++;
            return i;
        }
    }

    private static List<ChatMessage> Messages(JsonElement list, string field, string path, int line)
    {
        var messages = new List<ChatMessage>();
        foreach (var m in list.EnumerateArray())
        {
            if (m.ValueKind != JsonValueKind.Object
                || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String
                || !m.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
                throw Issue(path, line, $"'{field}' message {messages.Count + 1} must be an object with string 'role' and 'content'");
            messages.Add(new ChatMessage(role.GetString()!, content.GetString()!));
        }
        return messages;
    }

    /// <summary>The offset of the first byte that does not begin a valid UTF-8 sequence, or null.</summary>
    private static int? FirstInvalidUtf8(byte[] bytes, int start)
    {
        for (int i = start; i < bytes.Length;)
        {
            if (Rune.DecodeFromUtf8(bytes.AsSpan(i), out _, out int used) != System.Buffers.OperationStatus.Done) return i;
            i += used;
        }
        return null;
    }

    private static int LineAt(byte[] bytes, int offset) => 1 + bytes.AsSpan(0, offset).Count((byte)'\n');

    private static DataFormatException Issue(string path, int line, string message) => new(new DataIssue(path, line, message));
}
