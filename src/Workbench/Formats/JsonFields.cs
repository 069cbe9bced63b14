using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Workbench.Formats;

/// <summary>
/// The exception a <see cref="JsonFields"/> reader throws, so that each format keeps its own type.
/// <paramref name="field"/> is the field's path (<c>rope_scaling.factor</c>), or null for the file as a whole.
/// </summary>
public delegate Exception JsonFieldError(string file, string? field, string problem);

/// <summary>
/// Typed reads from a JSON object of a file (config.json, adapter_config.json, a task file). An absent field and a
/// JSON null read as null, so the caller's default applies (as transformers and PEFT do); a value of the wrong type
/// is an error naming the file and the field: <c>config.json: field 'hidden_size': expected an integer, found "64"</c>.
/// </summary>
public sealed class JsonFields
{
    private readonly JsonObject root;
    private readonly JsonFieldError error;
    private readonly string prefix;

    public JsonFields(JsonObject root, string file, JsonFieldError? error = null) : this(root, file, error ?? DefaultError, "") { }

    private JsonFields(JsonObject root, string file, JsonFieldError error, string prefix)
    {
        (this.root, File, this.error, this.prefix) = (root, file, error, prefix);
    }

    /// <summary>The text of <paramref name="file"/> as a JSON object; malformed JSON or another value is an error about the file.</summary>
    public static JsonFields Parse(string json, string file, JsonFieldError? error = null)
    {
        error ??= DefaultError;
        JsonNode? node;
        try { node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true }); }
        catch (JsonException e) { throw error(file, null, $"not valid JSON ({e.Message})"); }
        return node is JsonObject root ? new JsonFields(root, file, error)
            : throw error(file, null, $"expected a JSON object, found {(node is null ? "null" : node.GetValueKind().ToString())}");
    }

    public string File { get; }

    /// <summary>"field 'name': problem", or the problem alone for the whole file: the text after "file: " in every message.</summary>
    public static string Describe(string? field, string problem) => field is null ? problem : $"field '{field}': {problem}";

    private static Exception DefaultError(string file, string? field, string problem) => new FormatException($"{file}: {Describe(field, problem)}");

    /// <summary>The error for <paramref name="field"/> (a nested reader prefixes its object's path), or for the file when null.</summary>
    public Exception Error(string? field, string problem) => error(File, field is null ? null : prefix + field, problem);

    public Exception Missing(string field) => Error(field, "is required but missing");

    /// <summary>The fields present, in file order.</summary>
    public IEnumerable<string> Names => root.Select(p => p.Key);

    /// <summary>The field's value; null when it is absent or JSON null.</summary>
    public JsonNode? Node(string field) => root.TryGetPropertyValue(field, out var n) ? n : null;

    public bool Has(string field) => Node(field) is not null;

    /// <summary>A nested object (as rope_scaling) whose errors name its fields by path.</summary>
    public JsonFields? Object(string field) => Node(field) switch
    {
        null => null,
        JsonObject o => new JsonFields(o, File, error, prefix + field + "."),
        var n => throw Expected(field, "an object", n),
    };

    public string? String(string field) => Node(field) switch
    {
        null => null,
        var n when n.GetValueKind() == JsonValueKind.String => n.GetValue<string>(),
        var n => throw Expected(field, "a string", n),
    };

    public string String(string field, string fallback) => String(field) ?? fallback;

    public bool? Bool(string field) => Node(field) switch
    {
        null => null,
        var n when n.GetValueKind() is JsonValueKind.True or JsonValueKind.False => n.GetValue<bool>(),
        var n => throw Expected(field, "true or false", n),
    };

    public bool Bool(string field, bool fallback) => Bool(field) ?? fallback;

    /// <summary>A whole number in int range; transformers writes some as 4096.0 after arithmetic, so those count.</summary>
    public int? Int(string field) => Node(field) is { } n ? AsInt(n) ?? throw Expected(field, "an integer", n) : null;

    public int Int(string field, int fallback) => Int(field) ?? fallback;

    public long? Long(string field) => Node(field) is { } n ? Whole(n) ?? throw Expected(field, "an integer", n) : null;

    public double? Double(string field) => Node(field) switch
    {
        null => null,
        var n when n.GetValueKind() == JsonValueKind.Number => double.Parse(n.ToJsonString(), CultureInfo.InvariantCulture),
        var n => throw Expected(field, "a number", n),
    };

    public double Double(string field, double fallback) => Double(field) ?? fallback;

    public IReadOnlyList<string>? StringList(string field) => Node(field) switch
    {
        null => null,
        JsonArray a when a.All(e => e?.GetValueKind() == JsonValueKind.String) => a.Select(e => e!.GetValue<string>()).ToList(),
        var n => throw Expected(field, "a list of strings", n),
    };

    /// <summary>An integer or a list of integers (as eos_token_id).</summary>
    public int[]? IntList(string field)
    {
        var n = Node(field);
        if (n is not JsonArray a) return n is null ? null : [Int(field)!.Value];
        var ints = a.Select(e => e is null ? null : AsInt(e)).ToList();
        return ints.All(x => x is not null) ? [.. ints.Select(x => x!.Value)] : throw Expected(field, "an integer or a list of integers", a);
    }

    /// <summary>An object's entries, each converted by <paramref name="value"/> (which throws on a value of the wrong type); absent: empty.</summary>
    public IReadOnlyDictionary<string, T> Map<T>(string field, Func<JsonNode, T> value)
    {
        var n = Node(field);
        if (n is null) return new Dictionary<string, T>();
        try { return n.AsObject().ToDictionary(kv => kv.Key, kv => value(kv.Value ?? throw new FormatException())); }
        catch (Exception e) when (e is InvalidOperationException or FormatException or JsonException)
        { throw Expected(field, "an object", n); }
    }

    /// <summary>For settings we cannot honour: the field must be absent, null or an empty list.</summary>
    public void RequireNull(string field)
    {
        if (Node(field) is { } n && n is not JsonArray { Count: 0 })
            throw Error(field, $"{n.ToJsonString()} is not supported (only null)");
    }

    private Exception Expected(string field, string what, JsonNode found) => Error(field, $"expected {what}, found {found.ToJsonString()}");

    private static int? AsInt(JsonNode n) => Whole(n) is long x && x >= int.MinValue && x <= int.MaxValue ? (int)x : null;

    /// <summary>
    /// A whole number in long range, else null. Numbers are read from their JSON text, so parsed values and values
    /// built in code (a JsonValue holding an int) read alike.
    /// </summary>
    private static long? Whole(JsonNode n)
    {
        if (n.GetValueKind() != JsonValueKind.Number) return null;
        string text = n.ToJsonString();
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)) return l;
        double d = double.Parse(text, CultureInfo.InvariantCulture);
        return d == Math.Floor(d) && Math.Abs(d) < 9.223372036854775808E18 ? (long)d : null;   // |d| < 2^63
    }
}
