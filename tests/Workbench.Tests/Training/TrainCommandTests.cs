using System.Text.Json;
using Workbench.Cli;
using Workbench.Tests.Support;
using Workbench.Training;

namespace Workbench.Tests.Training;

[Collection("Console")]
public class TrainCommandTests
{
    private static (int Code, string Out, string Err) Wb(params string[] args) => WbCli.Run(args);

    private static string Yaml(StoriesRun data) => $$"""
        base_model: {{RepoPaths.Data("models/stories260K")}}
        adapter: lora
        target_modules: [q_proj, v_proj]
        data: {{data.DataFile}}
        template: "{|}{output}"
        max_length: 24
        micro_batch_size: 4
        learning_rate: 1.0e-2
        max_steps: 2
        output_dir: {{data.OutputDir}}
        """;

    [Fact]
    public void TrainsFromAYamlFileWithFlagOverridesAndPrintsTheSummaryJson()
    {
        using var data = new StoriesRun(records: 12);
        using var config = new TempFile(Yaml(data), ".yaml");
        var (code, stdout, stderr) = Wb("train", "--config", config.Path, "--max-steps", "3", "--lora-r", "4", "--gradient-checkpointing", "--json");
        Assert.True(code == 0, stderr);
        var s = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("lora", s.GetProperty("method").GetString());
        Assert.Equal(3, s.GetProperty("steps").GetInt32());
        const int lora = 5 * (4 * (64 + 64) + 4 * (64 + 32));   // 5 layers; q_proj 64→64, v_proj 64→32 (4 KV heads of 8), r 4
        Assert.Equal(lora, s.GetProperty("trainable_parameters").GetInt64());
        Assert.Equal(260_032 + lora, s.GetProperty("total_parameters").GetInt64());   // stories260K has 260,032 parameters
        Assert.True(double.IsFinite(s.GetProperty("final_loss").GetDouble()));
        Assert.Equal(3, StoriesRun.LoggedLosses(data.OutputDir).Length);
        Assert.Contains("step 3/3", stderr);
        var saved = TrainerCheckpoint.Load(Path.Combine(data.OutputDir, "checkpoint-3")).Config;
        Assert.Equal(4, saved.LoraR);
        Assert.True(saved.GradientCheckpointing);
    }

    [Fact]
    public void ResumeLatestContinuesFromTheNewestCheckpoint()
    {
        using var data = new StoriesRun(records: 12);
        using var config = new TempFile(Yaml(data), ".yaml");
        var first = Wb("train", "--config", config.Path, "--max-steps", "3", "--save-steps", "1", "--json");
        Assert.True(first.Code == 0, first.Err);
        var losses = StoriesRun.LoggedLosses(data.OutputDir);
        Directory.Delete(Path.Combine(data.OutputDir, "checkpoint-3"), recursive: true);   // as if stopped after step 2

        var (code, stdout, stderr) = Wb("train", "--config", config.Path, "--max-steps", "3", "--resume", "latest");
        Assert.True(code == 0, stderr);
        Assert.Contains("resumed from " + Path.Combine(data.OutputDir, "checkpoint-2"), stdout);
        Assert.Contains("step 3/3", stdout);
        Assert.Equal(losses, StoriesRun.LoggedLosses(data.OutputDir));
        Assert.Equal(losses[^1], JsonDocument.Parse(File.ReadAllText(Path.Combine(data.OutputDir, TrainingSummary.FileName))).RootElement.GetProperty("final_loss").GetDouble());

        var again = Wb("train", "--config", config.Path, "--max-steps", "3", "--resume", "latest", "--json");   // nothing left to do
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(again.Out).RootElement.GetProperty("final_loss").ValueKind);
    }

    [Theory]
    [InlineData("--config", "/nonexistent/run.yaml")]
    [InlineData("--base-model", "/nonexistent/model")]
    [InlineData("--data", "/nonexistent/data.jsonl")]
    [InlineData("--lora-r", "many")]
    [InlineData("--template", "nope")]
    [InlineData("--target-modules", "qkv_proj")]
    [InlineData("--resume", "/nonexistent/checkpoint-3")]
    public void BadConfigOrPathsExitWithTwoAndAMessage(string flag, string value)
    {
        using var data = new StoriesRun(records: 12);
        using var config = new TempFile(Yaml(data), ".yaml");
        var args = flag == "--config" ? new[] { "train", flag, value } : ["train", "--config", config.Path, flag, value];
        var (code, _, stderr) = Wb(args);
        Assert.Equal(2, code);
        Assert.StartsWith("wb train: ", stderr);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.Contains(flag is "--lora-r" or "--template" or "--target-modules" ? value : value.Split('/')[^1], stderr);
    }
}
