using Workbench.Adapters;
using Workbench.Tests.Support;
using Workbench.Training;

namespace Workbench.Tests.Training;

public class TrainingConfigTests
{
    private static IEnumerable<KeyValuePair<string, IReadOnlyList<string>>> Pairs(params (string Key, string Value)[] kv) =>
        kv.Select(p => new KeyValuePair<string, IReadOnlyList<string>>(p.Key, [p.Value]));

    [Fact]
    public void TheExampleYamlLoadsWithEveryValue()
    {
        var c = TrainingConfigLoader.Load(RepoPaths.Data("examples/stories-lora.yaml"));
        Assert.Equal("data/models/stories260K", c.BaseModel);
        Assert.Equal(AdapterMethod.Lora, c.Adapter);
        Assert.Equal(8, c.LoraR);
        Assert.Equal(16f, c.LoraAlpha);
        Assert.Equal(["q_proj", "v_proj"], c.TargetModules);
        Assert.Equal("alpaca", c.Template);
        Assert.Equal(8, c.MicroBatchSize);
        Assert.Equal(2, c.GradientAccumulationSteps);
        Assert.Equal(3e-3, c.LearningRate);
        Assert.Equal(LrSchedulerType.Cosine, c.LrSchedulerType);
        Assert.Equal(0.1, c.WarmupRatio);
        Assert.Equal(40, c.MaxSteps);
        Assert.False(c.Packing);
        Assert.True(c.CompletionOnly);
        Assert.Equal("runs/stories-lora", c.OutputDir);
        c.Validate();
    }

    [Fact]
    public void FlagsOverrideTheFileAndListsTakeCommas()
    {
        var c = TrainingConfigLoader.Apply(new TrainingConfig(), Pairs(("lora-r", "16"), ("target_modules", "q_proj, k_proj,v_proj"),
            ("adapter", "none"), ("lr_scheduler_type", "Cosine"), ("packing", "true"), ("learning_rate", "1e-4")), "test");
        Assert.Equal(16, c.LoraR);
        Assert.Equal(["q_proj", "k_proj", "v_proj"], c.TargetModules);
        Assert.Equal(AdapterMethod.None, c.Adapter);
        Assert.Equal(LrSchedulerType.Cosine, c.LrSchedulerType);
        Assert.True(c.Packing);
        Assert.Equal(1e-4, c.LearningRate);
    }

    [Fact]
    public void JsonRoundTripKeepsEveryKey()
    {
        var c = new TrainingConfig { BaseModel = "m", Data = "d.jsonl", OutputDir = "o", LoraDropout = 0.05f, TargetModules = ["a", "b"],
            Adapter = AdapterMethod.None, WarmupRatio = 0.03, GradientCheckpointing = true, Seed = 3 };
        var back = TrainingConfigLoader.FromJson(TrainingConfigLoader.ToJson(c), "round trip");
        Assert.Empty(TrainingConfigLoader.Differences(c, back));
        Assert.Equal(TrainingConfigLoader.Fields.Count, System.Text.Json.Nodes.JsonNode.Parse(TrainingConfigLoader.ToJson(c))!.AsObject().Count);
        Assert.Equal(["adapter", "seed"], TrainingConfigLoader.Differences(c, c with { Adapter = AdapterMethod.Lora, Seed = 4 }));
    }

    [Theory]
    [InlineData("lora_rank: 8\n", "unknown key 'lora_rank'")]
    [InlineData("lora_r: eight\n", "lora_r: must be an integer, got 'eight'")]
    [InlineData("adapter: prefix\n", "adapter: must be one of lora, ia3, none")]
    [InlineData("packing: maybe\n", "packing: must be true or false")]
    [InlineData("lora_r: [1, 2]\n", "lora_r: takes one value")]
    [InlineData("seed: {a: 1}\n", "seed: must be a value or a list")]
    [InlineData("- 1\n- 2\n", "expected a mapping")]
    [InlineData("lora_r: 8\n  bad: [\n", "not valid YAML")]
    public void BadYamlNamesTheFileAndKey(string yaml, string message)
    {
        using var file = new TempFile(yaml, ".yaml");
        var e = Assert.Throws<TrainingConfigException>(() => TrainingConfigLoader.Load(file.Path));
        Assert.Contains(file.Path, e.Message);
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("base_model", "", "base_model: is required")]
    [InlineData("micro_batch_size", "0", "micro_batch_size: must be positive")]
    [InlineData("warmup_ratio", "1.5", "warmup_ratio: must be in [0, 1]")]
    [InlineData("max_length", "1", "max_length: must be at least 2")]
    public void ValidationNamesTheKey(string key, string value, string message)
    {
        var ok = new TrainingConfig { BaseModel = "m", Data = "d", OutputDir = "o" };
        var bad = TrainingConfigLoader.Apply(ok, Pairs((key, value)), "flags");
        var e = Assert.Throws<TrainingConfigException>(() => bad.Validate("flags"));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void MissingFileIsAConfigError() =>
        Assert.Contains("config file not found", Assert.Throws<TrainingConfigException>(() => TrainingConfigLoader.Load("/nonexistent/run.yaml")).Message);
}
