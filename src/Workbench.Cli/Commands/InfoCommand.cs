using System.CommandLine;
using System.Text.Json.Nodes;
using Workbench.Formats;
using Workbench.Models;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb info MODEL_OR_CONFIG_DIR [--json]</c>: architecture, parameter counts by component, dtype and the memory
/// the weights need, from config.json alone; when the directory also holds safetensors weights, checks every
/// tensor's name and shape against the config. Exit codes: 0 fine, 1 weights do not match, 2 bad input.
/// </summary>
public static class InfoCommand
{
    public static Command Build()
    {
        var path = new Argument<string>("path") { Description = "A model directory (config.json, optionally model.safetensors or a sharded index) or a config.json file" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var info = new Command("info", "Describe a Hugging Face model from its config (and check its weights when present)");
        info.Arguments.Add(path);
        info.Options.Add(json);
        info.SetAction(pr => Run(pr.GetValue(path)!, pr.GetValue(json)));
        return info;
    }

    public static int Run(string path, bool asJson)
    {
        if (!Directory.Exists(path) && !File.Exists(path)) return CliOutput.Fail($"{path}: no such file or directory");
        ModelConfig config;
        try { config = ModelConfig.Load(path); }
        catch (Exception e) when (e is FormatException or IOException) { return CliOutput.Fail(e.Message); }

        var layout = ParameterLayout.For(config);
        var directory = Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path))!;
        var weights = SafeTensorsCheckpoint.FindIn(directory);
        CheckpointFacts? facts = null;
        if (weights is not null)
        {
            try { facts = CheckpointFacts.Read(weights, layout); }
            catch (Exception e) when (e is FormatException or IOException) { return CliOutput.Fail(e.Message); }
        }

        var report = Report(config, layout, facts);
        if (asJson) CliOutput.WriteJson(report);
        else PrintText(report, facts);
        return facts is { Comparison.Matches: false } ? 1 : 0;
    }

    /// <summary>What the weight files hold: files, dtype (the most common one), bytes, and the layout check.</summary>
    private sealed record CheckpointFacts(IReadOnlyList<string> Files, int Tensors, string DType, long Bytes, LayoutComparison Comparison)
    {
        public static CheckpointFacts Read(string path, ParameterLayout layout)
        {
            using var checkpoint = SafeTensorsCheckpoint.Open(path);
            var dtype = checkpoint.Entries.Count == 0 ? "F32"
                : checkpoint.Entries.GroupBy(e => e.DType).MaxBy(g => g.Sum(e => e.Numel))!.Key;
            return new(checkpoint.Files.Select(Path.GetFileName).ToList()!, checkpoint.Entries.Count, SafeTensorsDType.TorchName(dtype),
                checkpoint.TotalBytes, LayoutCheck.Compare(layout, checkpoint.Entries));
        }
    }

    private static JsonObject Report(ModelConfig c, ParameterLayout layout, CheckpointFacts? facts)
    {
        var dtype = facts?.DType ?? c.TorchDtype;
        var byComponent = new JsonObject();
        foreach (var (group, count) in layout.CountsByGroup) byComponent[Snake(group)] = count;
        var report = new JsonObject
        {
            ["architecture"] = c.Architecture,
            ["model_type"] = c.ModelType,
            ["parameters"] = layout.TotalParameters,
            ["by_component"] = byComponent,
            ["dtype"] = dtype,
            ["memory_bytes"] = new JsonObject
            {
                ["weights"] = facts?.Bytes ?? MemoryEstimate.Weights(layout, dtype),
                ["float32"] = MemoryEstimate.Weights(layout, "float32"),
                ["bfloat16"] = MemoryEstimate.Weights(layout, "bfloat16"),
                ["nf4"] = MemoryEstimate.Nf4(layout),
            },
            ["config"] = new JsonObject
            {
                ["hidden_size"] = c.HiddenSize, ["intermediate_size"] = c.IntermediateSize, ["num_hidden_layers"] = c.NumLayers,
                ["num_attention_heads"] = c.NumHeads, ["num_key_value_heads"] = c.NumKvHeads, ["head_dim"] = c.HeadDim,
                ["rotary_dim"] = c.RotaryDim, ["vocab_size"] = c.VocabSize, ["max_position_embeddings"] = c.MaxPositions,
                ["tie_word_embeddings"] = c.TieWordEmbeddings, ["rope_theta"] = c.RopeTheta, ["rope_scaling"] = c.RopeScaling.Describe(),
            },
        };
        if (facts is not null)
        {
            var cmp = facts.Comparison;
            report["checkpoint"] = new JsonObject
            {
                ["files"] = new JsonArray(facts.Files.Select(f => (JsonNode?)f).ToArray()),
                ["tensors"] = facts.Tensors,
                ["matches"] = cmp.Matches,
                ["missing"] = new JsonArray(cmp.Missing.Select(m => (JsonNode?)m.Name).ToArray()),
                ["unexpected"] = new JsonArray(cmp.Unexpected.Select(u => (JsonNode?)u.Name).ToArray()),
                ["wrong_shape"] = new JsonArray(cmp.WrongShape.Select(w => (JsonNode?)new JsonObject
                {
                    ["name"] = w.Expected.Name,
                    ["expected"] = new JsonArray(w.Expected.Shape.Select(d => (JsonNode?)d).ToArray()),
                    ["actual"] = new JsonArray(w.Actual.Shape.Select(d => (JsonNode?)d).ToArray()),
                }).ToArray()),
                ["ignored"] = new JsonArray(cmp.Ignored.Select(i => (JsonNode?)i.Name).ToArray()),
            };
        }
        return report;
    }

    private static void PrintText(JsonObject r, CheckpointFacts? facts)
    {
        Console.WriteLine($"{r["architecture"]} (model_type {r["model_type"]})");
        Console.WriteLine($"parameters   {(long)r["parameters"]!,16:N0}");
        foreach (var (group, count) in r["by_component"]!.AsObject())
            Console.WriteLine($"  {group,-10} {(long)count!,16:N0}");
        Console.WriteLine($"dtype        {r["dtype"]}");
        var config = r["config"]!;
        Console.WriteLine($"rope         θ {config["rope_theta"]}, {config["rotary_dim"]} of {config["head_dim"]} dims, scaling {config["rope_scaling"]}");
        Console.WriteLine("memory (weights only)");
        foreach (var (kind, bytes) in r["memory_bytes"]!.AsObject())
            Console.WriteLine($"  {kind,-10} {Size((long)bytes!),16}");
        if (facts is null)
        {
            Console.WriteLine("weights      none (shape-only: config.json alone)");
            return;
        }
        Console.WriteLine($"weights      {string.Join(", ", facts.Files)}: {facts.Tensors} tensors");
        if (facts.Comparison.Ignored.Count > 0)
            Console.WriteLine($"  ignored {facts.Comparison.Ignored.Count} non-parameter tensors (saved buffers, tied head copy)");
        if (facts.Comparison.Matches) Console.WriteLine("  every parameter present with the expected shape");
        else foreach (var problem in facts.Comparison.Problems()) Console.WriteLine($"  {problem}");
    }

    /// <summary>Bytes in the largest binary unit that keeps the number at or above 1.</summary>
    private static string Size(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int u = 0;
        for (; value >= 1024 && u < units.Length - 1; u++) value /= 1024;
        return u == 0 ? $"{bytes} B" : $"{value:F2} {units[u]}";
    }

    private static string Snake(ParameterGroup g) => EnumSpelling.Name(g);
}
