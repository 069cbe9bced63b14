using System.CommandLine;
using System.Text.Json.Nodes;
using Workbench.Adapters.Merge;
using Workbench.Formats;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb convert MODEL_DIR --out DIR [--json]</c>: the safetensors equivalent of a model folder. Weights are read from
/// whatever the folder holds (safetensors, <c>pytorch_model.bin</c> or its sharded index, through the restricted
/// unpickler) and written in their own dtypes as Hugging Face sharded safetensors (5 GB shards); config.json,
/// generation_config.json and the tokenizer files are copied. --out must be new or empty. Exit 2 on bad input,
/// including a pickle that asks for anything but tensors.
/// </summary>
public static class ConvertCommand
{
    private static readonly string[] CopiedFiles = ["config.json", "generation_config.json", .. StandaloneExport.TokenizerFiles];

    public static Command Build()
    {
        var modelDir = new Argument<string>("model") { Description = "Model directory (pytorch_model.bin, its sharded index, or safetensors)" };
        var outDir = new Option<string>("--out") { Description = "New or empty directory for the safetensors model", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var cmd = new Command("convert", "Write a model's weights as safetensors (reads pytorch_model.bin without running its pickle)") { modelDir, outDir, json };
        cmd.SetAction(pr => Run(pr.GetValue(modelDir)!, pr.GetValue(outDir)!, pr.GetValue(json)));
        return cmd;
    }

    public static int Run(string modelDir, string outDir, bool asJson)
    {
        if (!Directory.Exists(modelDir)) return CliOutput.Fail($"{modelDir}: no such directory");
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any()) return CliOutput.Fail($"{outDir}: exists and is not empty");
        if (File.Exists(outDir)) return CliOutput.Fail($"{outDir}: is a file");
        string source;
        IReadOnlyList<string> written;
        try
        {
            using var checkpoint = SafeTensorsCheckpoint.Open(modelDir);
            source = checkpoint.Path;
            var tensors = checkpoint.LoadAll();
            written = SafeTensorsWriter.WriteSharded(outDir, tensors, StandaloneExport.DefaultShardBytes, new Dictionary<string, string> { ["format"] = "pt" });
        }
        catch (Exception e) when (e is FormatException or IOException)
        {
            return CliOutput.Fail(e.Message);
        }
        var copied = CopiedFiles.Where(f => File.Exists(Path.Combine(modelDir, f))).ToList();
        foreach (var f in copied) File.Copy(Path.Combine(modelDir, f), Path.Combine(outDir, f));
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
