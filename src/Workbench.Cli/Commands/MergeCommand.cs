using Workbench.Models;
using System.CommandLine;
using System.Text.Json.Nodes;
using Workbench.Adapters;
using Workbench.Adapters.Merge;
using Workbench.Formats;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb merge BASE_DIR ADAPTER_DIR --out DIR [--force] [--json]</c>: loads a base model and a PEFT adapter, merges
/// the adapter into the weights and writes a standalone model directory (config without the base reference, sharded
/// safetensors in the base dtype, tokenizer files). Atomic: a temporary folder next to --out is renamed into place.
/// --out follows <see cref="OutputFolder"/>: new or empty, or with --force an earlier model Workbench wrote; never a
/// folder holding an input or other files. Exit 2 on bad input.
/// </summary>
public static class MergeCommand
{
    public static Command Build()
    {
        var baseDir = new Argument<string>("base") { Description = "Base model directory (config.json + safetensors)" };
        var adapterDir = new Argument<string>("adapter") { Description = "PEFT adapter directory (adapter_config.json + adapter_model.safetensors)" };
        var outDir = new Option<string>("--out") { Description = "Directory to write the merged model to", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace an earlier model written by Workbench at --out" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var cmd = new Command("merge", "Merge a LoRA or IA3 adapter into its base model and export a standalone model") { baseDir, adapterDir, outDir, force, json };
        cmd.SetAction(pr => Run(pr.GetValue(baseDir)!, pr.GetValue(adapterDir)!, pr.GetValue(outDir)!, pr.GetValue(force), pr.GetValue(json)));
        return cmd;
    }

    public static int Run(string baseDir, string adapterDir, string outDir, bool force, bool asJson)
    {
        foreach (var dir in new[] { baseDir, adapterDir })
            if (!Directory.Exists(dir)) return CliOutput.Fail($"{dir}: no such directory");
        IReadOnlyList<string> files;
        string method;
        int layers;
        try
        {
            OutputFolder.Claim(outDir, StandaloneExport.Kind, force, baseDir, adapterDir);   // before the work, not after
            var peft = PeftModel.Load(CausalLM.Load(baseDir), adapterDir);
            method = peft.Config(peft.ActiveAdapter).PeftType;
            layers = peft.Layers().Count();
            files = StandaloneExport.Export(peft.MergeAndUnload(), baseDir, outDir, force);
        }
        catch (Exception e) when (e is FormatException or IOException or ArgumentException or NotSupportedException or KeyNotFoundException)
        {
            return CliOutput.Fail(e.Message);
        }
        if (asJson)
            CliOutput.WriteJson(new JsonObject
            {
                ["out"] = Path.GetFullPath(outDir), ["peft_type"] = method, ["merged_layers"] = layers,
                ["files"] = new JsonArray(files.Select(f => (JsonNode?)f).ToArray()),
            });
        else
            Console.WriteLine($"merged {method} into {layers} layers; wrote {string.Join(", ", files)} to {outDir}");
        return 0;
    }
}
