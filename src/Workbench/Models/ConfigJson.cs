using System.Text.Json;

namespace Workbench.Models;

/// <summary>A config.json that cannot be used; the message names the file and the field.</summary>
public sealed class ModelConfigException(string file, string? field, string problem)
    : FormatException(field is null ? $"{file}: {problem}" : $"{file}: field '{field}': {problem}")
{
    public string File { get; } = file;
    public string? Field { get; } = field;
}

/// <summary>
/// Typed reads from a config.json object. An absent field or a JSON null takes the given default (as
/// transformers does); a value of the wrong type is an error naming the file and the field.
/// </summary>
internal sealed class ConfigJson(JsonElement root, string file, string path = "")
{
    public string File { get; } = file;

    /// <summary>Errors name a nested field by its path, as rope_scaling.factor.</summary>
    public ModelConfigException Error(string? field, string problem) => new(File, field is null ? null : path + field, problem);

    /// <summary>A nested object (as rope_scaling), or null when absent or JSON null.</summary>
    public ConfigJson? Object(string field)
    {
        if (!TryGet(field, out var v)) return null;
        return v.ValueKind == JsonValueKind.Object ? new ConfigJson(v, File, path + field + ".")
            : throw Error(field, $"expected an object, found {v.GetRawText()}");
    }

    private bool TryGet(string field, out JsonElement value) =>
        root.TryGetProperty(field, out value) && value.ValueKind != JsonValueKind.Null;

    public bool Has(string field) => TryGet(field, out _);

    public int RequiredInt(string field) => Int(field) ?? throw Error(field, "is required but missing");

    public int Int(string field, int fallback) => Int(field) ?? fallback;

    public int? Int(string field)
    {
        if (!TryGet(field, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i)) return i;
        // transformers writes some integer fields as 4096.0 after arithmetic; accept whole numbers.
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue) return (int)d;
        throw Error(field, $"expected an integer, found {v.GetRawText()}");
    }

    public int Positive(string field, int? fallback = null)
    {
        int value = fallback is null ? RequiredInt(field) : Int(field, fallback.Value);
        return value > 0 ? value : throw Error(field, $"must be positive, found {value}");
    }

    public double RequiredDouble(string field) =>
        Has(field) ? Double(field, 0) : throw Error(field, "is required but missing");

    public double Double(string field, double fallback)
    {
        if (!TryGet(field, out var v)) return fallback;
        return v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw Error(field, $"expected a number, found {v.GetRawText()}");
    }

    public bool Bool(string field, bool fallback)
    {
        if (!TryGet(field, out var v)) return fallback;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(field, $"expected true or false, found {v.GetRawText()}"),
        };
    }

    public string String(string field, string fallback) => StringOrNull(field) ?? fallback;

    public string? StringOrNull(string field)
    {
        if (!TryGet(field, out var v)) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Error(field, $"expected a string, found {v.GetRawText()}");
    }

    /// <summary>An integer or a list of integers (eos_token_id may be either).</summary>
    public int[] IntList(string field, int[] fallback)
    {
        if (!TryGet(field, out var v)) return fallback;
        if (v.ValueKind == JsonValueKind.Array)
            return v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int i)
                ? i : throw Error(field, $"expected integers, found {v.GetRawText()}")).ToArray();
        return [Int(field)!.Value];
    }

    /// <summary>The first entry of a list of strings (as "architectures").</summary>
    public string? FirstString(string field)
    {
        if (!TryGet(field, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() == 0 || v[0].ValueKind != JsonValueKind.String)
            throw Error(field, $"expected a non-empty list of strings, found {v.GetRawText()}");
        return v[0].GetString();
    }
}
