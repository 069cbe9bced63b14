using System.CommandLine;
using System.Text.Json.Nodes;
using Workbench.Training;
using Workbench.Training.Recipes;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb export-recipe RUN.yaml --to accelerate --out DIR [--json]</c>: the run as a Hugging Face accelerate + PEFT +
/// TRL project (<see cref="AccelerateRecipe"/>) for one GPU, DDP, FSDP, DeepSpeed ZeRO-3 or several nodes; its
/// adapter comes back with <c>wb eval fewshot BASE --adapter OUT/adapter</c>. Exit 2 on bad input.
/// </summary>
public static class ExportRecipeCommand
{
    public static Command Build()
    {
        var config = new Argument<string>("config") { Description = "A run config (YAML or JSON, as for wb train)" };
        var to = new Option<string>("--to") { Description = "The target: accelerate", Required = true };
        var outDir = new Option<string>("--out") { Description = "New or empty directory for the recipe", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var cmd = new Command("export-recipe", "Write a run config as a multi-GPU Hugging Face training project") { config, to, outDir, json };
        cmd.SetAction(pr => Run(pr.GetValue(config)!, pr.GetValue(to)!, pr.GetValue(outDir)!, pr.GetValue(json)));
        return cmd;
    }

    public static int Run(string configPath, string to, string outDir, bool asJson)
    {
        if (to != "accelerate") return CliOutput.Fail($"--to: '{to}' is not a recipe target (accelerate)");
        if (!File.Exists(configPath)) return CliOutput.Fail($"{configPath}: no such file");
        IReadOnlyList<string> files;
        try { files = AccelerateRecipe.Write(TrainingConfigLoader.Load(configPath), outDir, configPath); }
        catch (Exception e) when (e is TrainingConfigException or FormatException or IOException or ArgumentException)
        {
            return CliOutput.Fail(e.Message);
        }
        if (asJson)
            CliOutput.WriteJson(new JsonObject
            {
                ["out"] = Path.GetFullPath(outDir), ["to"] = to,
                ["files"] = new JsonArray(files.Select(f => (JsonNode?)f).ToArray()),
            });
        else Console.WriteLine($"wrote {files.Count} files to {outDir}: {string.Join(", ", files)}");
        return 0;
    }
}
