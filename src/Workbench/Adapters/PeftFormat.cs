using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Engine;
using Workbench.Engine.Nn;
using Workbench.Formats;

namespace Workbench.Adapters;

/// <summary>An adapter directory that does not fit the model or the format; the message names the file and the keys.</summary>
public sealed class AdapterFormatException(string message) : FormatException(message);

/// <summary>
/// PEFT's saved adapter, a bit-exact contract: <c>adapter_config.json</c> (PEFT's field names, keys sorted, indent 2)
/// and <c>adapter_model.safetensors</c> with keys <c>base_model.model.{module}.lora_A.weight</c> — the adapter name
/// stripped — <c>….ia3_l</c>, and modules_to_save / bias parameters under their model names. The adapter called
/// "default" is saved in the directory itself, any other in the subfolder of its name.
/// </summary>
public static class PeftFormat
{
    public const string ConfigFileName = "adapter_config.json";
    public const string WeightsFileName = "adapter_model.safetensors";
    public const string KeyPrefix = "base_model.model.";
    /// <summary>The PEFT release whose format this follows, written as peft_version.</summary>
    public const string PeftVersion = "0.20.1.dev0";

    /// <summary>Saves every adapter (or the given ones): "default" in <paramref name="directory"/>, others in subfolders.</summary>
    internal static IReadOnlyList<string> Save(PeftModel peft, string directory, IEnumerable<string>? adapters = null) =>
        (adapters ?? peft.AdapterNames).Select(name =>
            WriteFolder(directory, name, peft.Config(name), StateDict(peft, name).ToDictionary(e => e.Key, e => e.Tensor))).ToList();

    /// <summary>
    /// Writes one adapter's folder (<paramref name="directory"/> for "default", else its subfolder): the tensors by model
    /// key (the prefix is added here) and the config as PEFT's save_pretrained stores it (inference_mode true). Any
    /// backend saves through this. Returns the folder.
    /// </summary>
    public static string WriteFolder(string directory, string adapter, AdapterConfig config, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var dir = adapter == "default" ? directory : Path.Combine(directory, adapter);
        Directory.CreateDirectory(dir);
        SafeTensorsWriter.Write(Path.Combine(dir, WeightsFileName), tensors.ToDictionary(e => KeyPrefix + e.Key, e => e.Value), new Dictionary<string, string> { ["format"] = "pt" });
        var json = ConfigJson(config with { InferenceMode = true });
        AtomicFile.WriteAllText(Path.Combine(dir, ConfigFileName), json);
        return dir;
    }

    /// <summary>
    /// Loads a PEFT adapter directory into <paramref name="model"/> (frozen first) as the adapter
    /// <paramref name="adapterName"/>. Every key must fit: missing, unexpected or mis-shaped tensors are an error.
    /// </summary>
    internal static PeftModel<TModel> Load<TModel>(TModel model, string directory, string adapterName = "default", bool isTrainable = false, string? modelType = null)
        where TModel : Module
    {
        var config = ReadConfig(directory) with { InferenceMode = !isTrainable };
        var peft = PeftModel.Create(model, config, adapterName, modelType: modelType);
        LoadWeights(peft, directory, adapterName);
        return peft;
    }

    /// <summary>Adds a saved adapter to an existing PEFT model under <paramref name="adapterName"/> (active afterwards).</summary>
    internal static void LoadAdapter(PeftModel peft, string directory, string adapterName, bool isTrainable = false)
    {
        peft.AddAdapter(adapterName, ReadConfig(directory) with { InferenceMode = !isTrainable });
        LoadWeights(peft, directory, adapterName);
    }

    /// <summary>
    /// The adapter's tensors by model key (no prefix): the adapter layers' tensors with the adapter name stripped,
    /// modules_to_save copies, and for LoRA the biases its bias mode trains. Each with a setter for loading.
    /// </summary>
    public static List<(string Key, Tensor Tensor, Action<Tensor> Set)> StateDict(PeftModel peft, string adapter)
    {
        var config = peft.Config(adapter);
        var entries = new Dictionary<string, (Tensor, Action<Tensor>)>();
        foreach (var (path, layer) in peft.Layers())
        {
            if (!layer.AdapterNames.Contains(adapter)) continue;
            foreach (var (key, tensor) in layer.AdapterTensors(adapter))
                entries[$"{path}.{key}"] = (tensor, v => layer.LoadAdapterTensor(adapter, key, v));
        }
        var plain = AdapterMethods.Of(config).TrainedBaseParameters(peft, config);
        if (config.ModulesToSave is { Count: > 0 } modules)
        {
            var match = TargetModules.Of(modules);
            plain = plain.Concat(peft.ModulesToSaveKeys.Where(k => Prefixes(k).Any(match.Matches)));
        }
        var parameters = peft.Model.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor);
        foreach (var key in plain.Distinct())
            entries[key] = (parameters[key], v => peft.SetParameterAt(key, AsParameter(v, parameters[key].RequiresGrad)));
        return entries.Select(e => (e.Key, e.Value.Item1, e.Value.Item2)).ToList();
    }

    private static void LoadWeights(PeftModel peft, string directory, string adapter)
    {
        var expected = StateDict(peft, adapter);
        var stored = ReadWeights(directory, adapter, expected.ToDictionary(e => e.Key, e => e.Tensor.Shape));
        foreach (var (key, _, set) in expected) set(stored[key]);
    }

    /// <summary>
    /// An adapter folder's tensors by model key (prefix stripped), which must be exactly <paramref name="expected"/> with
    /// those shapes: missing, unexpected or mis-shaped tensors are one error naming the file and the keys. Any backend
    /// loads through this.
    /// </summary>
    public static Dictionary<string, Tensor> ReadWeights(string directory, string adapter, IReadOnlyDictionary<string, int[]> expected)
    {
        var file = Path.Combine(directory, WeightsFileName);
        if (!File.Exists(file)) throw new FileNotFoundException($"{file}: no adapter weights (PEFT's .bin format is not read)", file);
        var stored = SafeTensorsFile.Load(file);
        var missing = expected.Keys.Where(k => !stored.ContainsKey(KeyPrefix + k)).Select(k => KeyPrefix + k).ToList();
        var unexpected = stored.Keys.Where(k => !k.StartsWith(KeyPrefix, StringComparison.Ordinal) || !expected.ContainsKey(k[KeyPrefix.Length..])).ToList();
        var wrongShape = expected.Where(e => stored.TryGetValue(KeyPrefix + e.Key, out var t) && !t.Shape.SequenceEqual(e.Value))
            .Select(e => $"{KeyPrefix + e.Key} is {Shape.Format(stored[KeyPrefix + e.Key].Shape)}, the model expects {Shape.Format(e.Value)}").ToList();
        if (missing.Count + unexpected.Count + wrongShape.Count > 0)
        {
            static string List(string what, List<string> keys) => keys.Count == 0 ? "" :
                $"\n  {what} ({keys.Count}): {string.Join(", ", keys.Take(8))}{(keys.Count > 8 ? ", …" : "")}";
            throw new AdapterFormatException($"{file}: does not fit the model for adapter '{adapter}'" +
                List("missing", missing) + List("unexpected", unexpected) + List("wrong shape", wrongShape));
        }
        return expected.Keys.ToDictionary(k => k, k => stored[KeyPrefix + k]);
    }

    private static Tensor AsParameter(Tensor value, bool requiresGrad)
    {
        var t = value.To(DType.F32).Clone();
        t.RequiresGrad = requiresGrad;
        return t;
    }

    private static IEnumerable<string> Prefixes(string name)
    {
        for (int i = name.IndexOf('.'); i >= 0; i = name.IndexOf('.', i + 1)) yield return name[..i];
    }

    // ---- adapter_config.json ---------------------------------------------------------------------

    /// <summary>adapter_config.json text as PEFT writes it: json.dumps(to_dict(), indent=2, sort_keys=True).</summary>
    public static string ConfigJson(AdapterConfig config)
    {
        var fields = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal)
        {
            ["auto_mapping"] = null,
            ["base_model_name_or_path"] = config.BaseModelNameOrPath,
            ["exclude_modules"] = null,
            ["fan_in_fan_out"] = config.FanInFanOut,
            ["inference_mode"] = config.InferenceMode,
            ["modules_to_save"] = config.ModulesToSave is { } m ? Strings(m) : null,
            ["peft_type"] = config.PeftType,
            ["peft_version"] = PeftVersion,
            ["revision"] = config.Revision,
            ["target_modules"] = Targets(config.TargetModules),
            ["task_type"] = config.TaskType,
        };
        AdapterMethods.Of(config).WriteFields(config, fields);
        var root = new JsonObject(fields);
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>Reads adapter_config.json (a directory holding one, or the file); fields we cannot honour are errors.</summary>
    public static AdapterConfig ReadConfig(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, ConfigFileName) : path;
        if (!File.Exists(file)) throw new FileNotFoundException($"{file}: no adapter config", file);
        var f = JsonFields.Parse(TextFile.ReadAll(file), file, (file, field, problem) => new AdapterFormatException($"{file}: {JsonFields.Describe(field, problem)}"));
        var peftType = f.String("peft_type") ?? throw f.Error("peft_type", "is required");
        var method = AdapterMethods.ForPeftType(peftType)
                     ?? throw f.Error("peft_type", $"'{peftType}' is not supported ({string.Join(", ", AdapterMethods.All.Select(m => m.PeftType))})");
        var config = method.ReadFields(f);
        f.RequireNull("exclude_modules");
        return config with
        {
            TaskType = f.String("task_type") ?? "CAUSAL_LM",
            BaseModelNameOrPath = f.String("base_model_name_or_path"),
            Revision = f.String("revision"),
            InferenceMode = f.Bool("inference_mode", false),
            TargetModules = ReadTargets(f, "target_modules"),
            ModulesToSave = f.StringList("modules_to_save"),
            FanInFanOut = f.Bool("fan_in_fan_out", false),
        };
    }

    /// <summary>A target_modules-like field: a list of names ([] → none), or a string ("all-linear" or a regular expression).</summary>
    internal static TargetModules? ReadTargets(JsonFields f, string field) => f.Node(field) switch
    {
        null => null,
        JsonArray => f.StringList(field) is { Count: > 0 } names ? TargetModules.Of(names) : TargetModules.None,
        _ => TargetModules.FromString(f.String(field)!),
    };

    internal static JsonNode? Targets(TargetModules? t) => t is null ? null : t.Names is { } names ? Strings(names) : JsonValue.Create(t.Pattern);

    internal static JsonArray Strings(IEnumerable<string> items) => new(items.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());

    /// <summary>A number as Python's json writes it: whole floats keep ".0" when the field is a float.</summary>
    internal static JsonNode Number(float value, bool forceFloat = false)
    {
        if (!forceFloat && value == MathF.Floor(value) && Math.Abs(value) < 1e9) return JsonValue.Create((long)value);
        var text = ((double)(decimal)value).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        if (!text.Contains('.') && !text.Contains('E')) text += ".0";
        return JsonNode.Parse(text)!;
    }
}
