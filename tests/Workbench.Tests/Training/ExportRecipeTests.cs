using Workbench.Formats;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Workbench.Training;
using Workbench.Training.Recipes;
using Workbench.Tests.Support;

namespace Workbench.Tests.Training;

/// <summary>
/// wb export-recipe: every run-config key has a place in the recipe (or a reason it has none), and the project written
/// for each example run config has a train.py that Python compiles (python3 -m py_compile; skipped, saying so, where
/// no python3 is on PATH). The recipe has not been run on a GPU here.
/// </summary>
[Collection("Console")]
public class ExportRecipeTests
{
    [Fact]
    public void TheMappingTableCoversEveryRunConfigKey()
    {
        var keys = TrainingConfigLoader.Fields.Select(f => f.Key).ToList();
        var mapped = RecipeMappings.All.Select(m => m.Key).ToList();
        Assert.Empty(keys.Except(mapped));
        Assert.Empty(mapped.Except(keys));
        Assert.Equal(mapped.Count, mapped.Distinct().Count());
    }

    /// <summary>The run configs among data/examples (the others, such as ko-tiny.yaml, are pretraining configs).</summary>
    public static TheoryData<string> RunConfigs()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(RepoPaths.Data("examples"), "*.yaml").Order())
        {
            try { TrainingConfigLoader.Load(file); data.Add(Path.GetFileName(file)); }
            catch (TrainingConfigException) { }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(RunConfigs))]
    public void EachExampleRunConfigExportsAProjectWhoseTrainPyCompiles(string example)
    {
        using var dir = new TempDir();
        // run configs name paths from the repository root: the same config with those paths made absolute
        var config = TrainingConfigLoader.Load(RepoPaths.Data($"examples/{example}"));
        config = config with { BaseModel = Path.Combine(RepoPaths.Root, config.BaseModel), Data = Path.Combine(RepoPaths.Root, config.Data) };
        File.WriteAllText(dir.File("run.json"), TrainingConfigLoader.ToJson(config));
        var (code, stdout, err) = WbCli.Run("export-recipe", dir.File("run.json"), "--to", "accelerate", "--out", dir.File("recipe"), "--json");
        Assert.True(code == 0, err);
        var files = JsonNode.Parse(stdout)!["files"]!.AsArray().Select(f => f!.GetValue<string>()).ToList();
        foreach (var expected in new[] { "train.py", "recipe.json", "README.md", "launch_multinode.sh", "accelerate/single_gpu.yaml",
                     "accelerate/multi_gpu.yaml", "accelerate/fsdp_full_shard.yaml", "accelerate/deepspeed_zero3_offload.yaml" })
            Assert.Contains(expected, files);
        var recipe = JsonNode.Parse(File.ReadAllText(dir.File("recipe/recipe.json")))!.AsObject();
        Assert.Equal(config.LoraR, recipe["lora_r"]!.GetValue<int>());
        Assert.Equal(config.Seed, recipe["seed"]!.GetValue<int>());
        Assert.True(File.Exists(Path.Combine(dir.File("recipe"), recipe["data"]!.GetValue<string>())));
        var layer = Workbench.Models.ModelConfig.Load(config.BaseModel).ModelType == "gpt_neox" ? "GPTNeoXLayer" : "LlamaDecoderLayer";
        Assert.Contains($"fsdp_transformer_layer_cls_to_wrap: {layer}", File.ReadAllText(dir.File("recipe/accelerate/fsdp_full_shard.yaml")));
        Assert.Equal(EnumSpelling.Name(config.Method), recipe["method"]!.GetValue<string>());

        var python = FindPython();
        if (python is null) { Console.Error.WriteLine("python3 not on PATH: train.py compilation not checked"); return; }
        var psi = new ProcessStartInfo(python, ["-m", "py_compile", dir.File("recipe/train.py")]) { RedirectStandardError = true };
        using var process = Process.Start(psi)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"train.py does not compile: {error}");
    }

    [Fact]
    public void AnUnsupportedQuantisationOrTargetIsRefused()
    {
        using var dir = new TempDir();
        var (code, _, err) = WbCli.Run("export-recipe", RepoPaths.Data("examples/stories-lora.yaml"), "--to", "slurm", "--out", dir.File("r"));
        Assert.Equal(2, code);
        Assert.Contains("--to", err);
        var e = Assert.Throws<TrainingConfigException>(() =>
            AccelerateRecipe.Write(new TrainingConfig { Quantization = Workbench.Quantization.QuantType.Int4, Data = "x" }, dir.File("r"), "run.yaml"));
        Assert.Contains("int4", e.Message);
    }

    private static string? FindPython() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, "python3")).FirstOrDefault(File.Exists);
}
