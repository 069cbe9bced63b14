using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Formats;
using YamlDotNet.RepresentationModel;

namespace Workbench.Training;

/// <summary>
/// Reads a <see cref="TrainingConfig"/> from YAML or JSON and applies overrides. Every property of the record is
/// one key, its snake_case name (LoraR → <c>lora_r</c>); the same table gives the CLI its <c>--lora-r</c> flags,
/// so a knob is declared once. Values arrive as text (a YAML scalar, a JSON literal, a flag) and are converted by
/// the property's type; lists accept a YAML/JSON sequence or comma-separated text. Unknown keys are errors.
/// </summary>
public static class TrainingConfigLoader
{
    /// <summary>One configurable key.</summary>
    public sealed record Field(string Key, string Description, Type Type, PropertyInfo Property)
    {
        public string Flag => "--" + Key.Replace('_', '-');
    }

    public static IReadOnlyList<Field> Fields { get; } = typeof(TrainingConfig)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.CanWrite)
        .Select(p => new Field(JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name),
            p.GetCustomAttribute<DescriptionAttribute>()?.Description ?? "", p.PropertyType, p))
        .ToList();

    /// <summary>Loads a .yaml/.yml or .json file (decided by extension; YAML otherwise) onto the defaults.</summary>
    public static TrainingConfig Load(string path)
    {
        if (!File.Exists(path)) throw new TrainingConfigException($"{path}: config file not found");
        var text = TextFile.ReadAll(path);
        var values = path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? ParseJson(text, path) : ParseYaml(text, path);
        return Apply(new TrainingConfig(), values, path);
    }

    /// <summary>The origin of values given as flags: errors then name the flag (<c>--lora-r</c>) rather than a key in a file.</summary>
    public const string CommandLine = "command line";

    /// <summary>Sets each key's value on a copy of <paramref name="config"/>; <paramref name="origin"/> names the source in errors.</summary>
    public static TrainingConfig Apply(TrainingConfig config, IEnumerable<KeyValuePair<string, IReadOnlyList<string>>> values, string origin)
    {
        var result = config with { };
        foreach (var (key, raw) in values)
        {
            var field = Fields.FirstOrDefault(f => f.Key == key.Replace('-', '_'))
                ?? throw new TrainingConfigException(origin == CommandLine ? $"--{key.Replace('_', '-')}: unknown flag"
                    : $"{origin}: unknown key '{key}'; known keys: {string.Join(", ", Fields.Select(f => f.Key))}");
            field.Property.SetValue(result, Convert(field, raw, origin));
        }
        return result;
    }

    /// <summary>The config as indented snake_case JSON (saved with every checkpoint); <see cref="Load"/> reads it back.</summary>
    public static string ToJson(TrainingConfig config)
    {
        var o = new JsonObject();
        foreach (var f in Fields)
        {
            var v = f.Property.GetValue(config);
            o[f.Key] = v switch
            {
                null when IsEnum(f.Type) => EnumSpelling.NoneName,
                string[] list => new JsonArray(list.Select(s => (JsonNode?)s).ToArray()),
                Enum e => EnumSpelling.Name(e),
                string s => s,
                int i => i,
                float x => x,
                double d => d,
                bool b => b,
                _ => throw new InvalidOperationException($"TrainingConfig.{f.Property.Name}: unsupported type {f.Type.Name}"),
            };
        }
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    public static TrainingConfig FromJson(string json, string origin) => Apply(new TrainingConfig(), ParseJson(json, origin), origin);

    /// <summary>Keys whose values differ between two configs.</summary>
    public static IEnumerable<string> Differences(TrainingConfig a, TrainingConfig b) =>
        Fields.Where(f => Text(f.Property.GetValue(a)) != Text(f.Property.GetValue(b))).Select(f => f.Key);

    private static string Text(object? v) => v is string[] list ? string.Join(",", list) : v is Enum e ? EnumSpelling.Name(e) : System.Convert.ToString(v, CultureInfo.InvariantCulture) ?? "";

    private static bool IsEnum(Type type) => (Nullable.GetUnderlyingType(type) ?? type).IsEnum;

    private static object? Convert(Field f, IReadOnlyList<string> raw, string origin)
    {
        string name = origin == CommandLine ? f.Flag : $"{origin}: {f.Key}";
        string Single()
        {
            if (raw.Count != 1) throw new TrainingConfigException($"{name}: takes one value, got a list of {raw.Count}");
            return raw[0].Trim();
        }
        TrainingConfigException Bad(string expected) => new($"{name}: must be {expected}, got '{string.Join(",", raw)}'");
        var inv = CultureInfo.InvariantCulture;
        if (f.Type == typeof(string)) return Single();
        if (f.Type == typeof(string[]))
            return raw.SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
        if (f.Type == typeof(int)) return int.TryParse(Single(), NumberStyles.Integer, inv, out var i) ? i : throw Bad("an integer");
        // NaN and infinities parse as numbers ("nan" unquoted in YAML) but mean nothing as a setting
        if (f.Type == typeof(float)) return float.TryParse(Single(), NumberStyles.Float, inv, out var x) && float.IsFinite(x) ? x : throw Bad("a finite number");
        if (f.Type == typeof(double)) return double.TryParse(Single(), NumberStyles.Float, inv, out var d) && double.IsFinite(d) ? d : throw Bad("a finite number");
        if (f.Type == typeof(bool))
            return Single().ToLowerInvariant() switch { "true" or "yes" or "on" or "1" => true, "false" or "no" or "off" or "0" => false, _ => throw Bad("true or false") };
        if (IsEnum(f.Type))
            return EnumSpelling.TryParse(f.Type, Single(), out var e) ? e : throw Bad($"one of {string.Join(", ", EnumSpelling.Names(f.Type))}");
        throw new InvalidOperationException($"TrainingConfig.{f.Property.Name}: unsupported type {f.Type.Name}");
    }

    internal static List<KeyValuePair<string, IReadOnlyList<string>>> ParseYaml(string text, string origin)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlDotNet.Core.YamlException e) { throw new TrainingConfigException($"{origin}:{e.Start.Line}: not valid YAML ({e.Message})"); }
        var values = new List<KeyValuePair<string, IReadOnlyList<string>>>();
        if (stream.Documents.Count == 0) return values;
        if (stream.Documents[0].RootNode is not YamlMappingNode map)
            throw new TrainingConfigException($"{origin}: expected a mapping of keys to values at the top level");
        foreach (var (k, v) in map.Children)
        {
            var key = ((YamlScalarNode)k).Value ?? "";
            IReadOnlyList<string> list = v switch
            {
                YamlScalarNode s => [s.Value ?? ""],
                YamlSequenceNode seq => seq.Children.Select(c => (c as YamlScalarNode)?.Value
                    ?? throw new TrainingConfigException($"{origin}:{c.Start.Line}: {key}: must be a list of plain values")).ToList(),
                _ => throw new TrainingConfigException($"{origin}:{v.Start.Line}: {key}: must be a value or a list, not a mapping"),
            };
            values.Add(new(key, list));
        }
        return values;
    }

    internal static List<KeyValuePair<string, IReadOnlyList<string>>> ParseJson(string text, string origin)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(text); }
        catch (JsonException e) { throw new TrainingConfigException($"{origin}: not valid JSON ({e.Message})"); }
        if (root is not JsonObject obj) throw new TrainingConfigException($"{origin}: expected a JSON object");
        static string Scalar(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n?.ToJsonString() ?? "";
        return obj.Select(kv => new KeyValuePair<string, IReadOnlyList<string>>(kv.Key,
            kv.Value is JsonArray a ? a.Select(Scalar).ToList() : [Scalar(kv.Value)])).ToList();
    }
}
