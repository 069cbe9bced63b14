using System.CommandLine;
using System.Text.Json.Nodes;
using Workbench.Export.Gguf;
using Workbench.Formats;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb export gguf MODEL_DIR [--adapter DIR] --out FILE.gguf [--type f32|f16|q8_0|q4_0] [--force] [--json]</c>:
/// a model (with a PEFT adapter merged in first, when given) as one GGUF file for llama.cpp, Ollama, LM Studio and
/// LLamaSharp (<see cref="GgufExport"/>). Written beside the target and renamed into place; an existing file is
/// replaced only with --force, and only a .gguf one. Exit 2 on bad input.
/// </summary>
public static class ExportCommand
{
    public static Command Build()
    {
        var modelDir = new Argument<string>("model") { Description = "Model directory (config.json, safetensors or pytorch_model.bin, tokenizer)" };
        var adapter = new Option<string?>("--adapter") { Description = "PEFT adapter directory to merge in first" };
        var outPath = new Option<string>("--out") { Description = "The .gguf file to write", Required = true };
        var type = new Option<string>("--type") { Description = "Weight type: f32, f16, q8_0 or q4_0", DefaultValueFactory = _ => "f16" };
        var force = new Option<bool>("--force") { Description = "Replace an existing .gguf file" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var gguf = new Command("gguf", "Write a model as a GGUF file for llama.cpp (Llama, Gemma, GPT-NeoX)") { modelDir, adapter, outPath, type, force, json };
        gguf.SetAction(pr => Run(pr.GetValue(modelDir)!, pr.GetValue(adapter), pr.GetValue(outPath)!, pr.GetValue(type)!, pr.GetValue(force), pr.GetValue(json)));
        return new Command("export", "Write a model in another runtime's format") { gguf };
    }

    public static int Run(string modelDir, string? adapterDir, string outPath, string typeText, bool force, bool asJson)
    {
        foreach (var dir in new[] { modelDir, adapterDir })
            if (dir is not null && !Directory.Exists(dir)) return CliOutput.Fail($"{dir}: no such directory");
        GgufExportResult result;
        try
        {
            var type = EnumSpelling.Parse<GgufExportType>(typeText, "--type");
            result = GgufExport.Write(modelDir, outPath, type, adapterDir, force);
        }
        catch (Exception e) when (e is FormatException or IOException or ArgumentException or NotSupportedException or KeyNotFoundException)
        {
            return CliOutput.Fail(e.Message);
        }
        var types = string.Join(", ", result.TensorTypes.OrderBy(t => t.Key).Select(t => $"{t.Value} {t.Key}"));
        if (asJson)
            CliOutput.WriteJson(new JsonObject
            {
                ["out"] = result.Path, ["architecture"] = result.Architecture, ["type"] = EnumSpelling.Name(result.Type),
                ["adapter_merged"] = result.AdapterMerged, ["bytes"] = result.Bytes, ["tensors"] = result.Tensors.Count,
                ["tensor_types"] = new JsonObject(result.TensorTypes.OrderBy(t => t.Key).Select(t => KeyValuePair.Create(t.Key.ToString(), (JsonNode?)t.Value))),
            });
        else
            Console.WriteLine($"wrote {result.Path}: {result.Architecture}, {result.Tensors.Count} tensors ({types}), {result.Bytes:N0} bytes"
                              + (result.AdapterMerged ? ", adapter merged" : ""));
        return 0;
    }
}
