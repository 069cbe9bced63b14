using System.CommandLine;
using System.Text.Json.Nodes;
using Workbench.Adapters.Merge;
using Workbench.Formats;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb convert MODEL_DIR --out DIR [--json]</c>: the safetensors equivalent of a model folder. Weights are read from
/// whatever the folder holds (safetensors, <c>pytorch_model.bin</c> or its sharded index, through the restricted
/// unpickler) and written in their own dtypes as Hugging Face sharded safetensors (5 GB shards); config.json,
/// generation_config.json and the tokenizer files are copied. --out follows <see cref="OutputFolder"/> (new or empty, or
/// with --force an earlier model Workbench wrote). Exit 2 on bad input, including a pickle that asks for anything but
/// tensors (the one error path of <see cref="Program.Main"/>).
/// </summary>
public static class ConvertCommand
{
    private static readonly string[] CopiedFiles = ["config.json", "generation_config.json", .. StandaloneExport.TokenizerFiles];

    public static Command Build()
    {
        var modelDir = new Argument<string>("model") { Description = "Model directory (pytorch_model.bin, its sharded index, or safetensors)" };
        var outDir = new Option<string>("--out") { Description = "New or empty directory for the safetensors model", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace an earlier model written by Workbench at --out" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var cmd = new Command("convert", "Write a model's weights as safetensors (reads pytorch_model.bin without running its pickle)") { modelDir, outDir, force, json };
        cmd.SetAction(pr => Run(pr.GetValue(modelDir)!, pr.GetValue(outDir)!, pr.GetValue(force), pr.GetValue(json)));
        return cmd;
    }

    public static int Run(string modelDir, string outDir, bool force, bool asJson)
    {
        if (!Directory.Exists(modelDir)) return CliOutput.Fail($"{modelDir}: no such directory");
        var output = OutputFolder.Claim(outDir, StandaloneExport.Kind, force, modelDir);
        using var checkpoint = SafeTensorsCheckpoint.Open(modelDir);
        string source = checkpoint.Path;
        var tensors = checkpoint.LoadAll();
        var copied = CopiedFiles.Where(f => File.Exists(Path.Combine(modelDir, f))).ToList();
        IReadOnlyList<string> written = [];
        output.Write(dir =>
        {
            written = SafeTensorsWriter.WriteSharded(dir, tensors, StandaloneExport.DefaultShardBytes, new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var f in copied) File.Copy(Path.Combine(modelDir, f), Path.Combine(dir, f));
        });
        var files = written.Select(Path.GetFileName).Concat(copied).ToList();
        if (asJson)
            CliOutput.WriteJson(new JsonObject
            {
                ["source"] = source, ["out"] = Path.GetFullPath(outDir),
                ["files"] = new JsonArray(files.Select(f => (JsonNode?)f).ToArray()),
            });
        else Console.WriteLine($"read {source}; wrote {string.Join(", ", files)} to {outDir}");
        return 0;
    }
}
