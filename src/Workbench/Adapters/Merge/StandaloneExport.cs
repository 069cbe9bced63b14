using System.Text.Json.Nodes;
using Workbench.Engine;
using Workbench.Engine.Nn;
using Workbench.Formats;

namespace Workbench.Adapters.Merge;

/// <summary>
/// Writes a merged model as a standalone Hugging Face directory: the base's config.json without any reference to
/// the base (no base_model_name_or_path / _name_or_path), the weights under the base model's names as sharded
/// safetensors in the base's torch_dtype, and the base's tokenizer files. The directory appears whole or not at all
/// (<see cref="AtomicFolder"/>).
/// </summary>
public static class StandaloneExport
{
    /// <summary>What <see cref="OutputFolder"/> records a standalone model folder as.</summary>
    public const string Kind = "model";

    public static readonly string[] TokenizerFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model"];
    /// <summary>transformers' default max_shard_size ("5GB").</summary>
    public const long DefaultShardBytes = 5_000_000_000;

    /// <returns>The files written, relative to <paramref name="outDir"/>.</returns>
    public static IReadOnlyList<string> Export(Module merged, string baseDir, string outDir, bool force = false, long maxShardBytes = DefaultShardBytes)
    {
        var output = OutputFolder.Claim(outDir, Kind, force, baseDir);
        var config = JsonNode.Parse(TextFile.ReadAll(Path.Combine(baseDir, "config.json")))!.AsObject();
        config.Remove("base_model_name_or_path");
        config.Remove("_name_or_path");
        var dtype = DTypeOf(config["torch_dtype"]?.GetValue<string>() ?? config["dtype"]?.GetValue<string>() ?? "float32");

        var written = new List<string>();
        output.Write(dir =>
        {
            var tensors = new Dictionary<string, Tensor>();
            foreach (var (name, t) in merged.NamedParameters()) tensors[name] = t.DType == dtype ? t : t.To(dtype);
            SafeTensorsWriter.WriteSharded(dir, tensors, maxShardBytes, new Dictionary<string, string> { ["format"] = "pt" });
            File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString(new() { WriteIndented = true }) + "\n");
            foreach (var file in TokenizerFiles)
                if (File.Exists(Path.Combine(baseDir, file))) File.Copy(Path.Combine(baseDir, file), Path.Combine(dir, file));
            written.AddRange(Directory.EnumerateFiles(dir).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal));
        });
        return written;
    }

    private static DType DTypeOf(string torchDtype) => torchDtype switch
    {
        "float32" => DType.F32,
        "float16" => DType.F16,
        "bfloat16" => DType.BF16,
        _ => throw new NotSupportedException($"export: torch_dtype '{torchDtype}' is not supported (float32, float16, bfloat16)"),
    };
}
