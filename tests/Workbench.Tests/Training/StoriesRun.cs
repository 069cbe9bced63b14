using Workbench.Adapters;
using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Tests.Support;
using Workbench.Training;

namespace Workbench.Tests.Training;

/// <summary>
/// Small training runs of the real stories260K Llama on the first 100 Stanford Alpaca outputs (whole text as the
/// target: template "{|}{output}"), short sequences so each run takes a second or two.
/// </summary>
public sealed class StoriesRun : IDisposable
{
    private readonly TempDir dir = new();
    public string DataFile { get; }
    public string OutputDir => dir.File("out");

    public StoriesRun(int records = 100)
    {
        var alpaca = JsonNode.Parse(File.ReadAllText(RepoPaths.Data("alpaca/alpaca_sample.json")))!.AsArray();
        DataFile = dir.File("outputs.jsonl");
        File.WriteAllLines(DataFile, alpaca.Take(records).Select(r => new JsonObject { ["output"] = r!["output"]!.GetValue<string>() }.ToJsonString()));
    }

    public TrainingConfig Config(Func<TrainingConfig, TrainingConfig>? change = null)
    {
        var c = new TrainingConfig
        {
            BaseModel = RepoPaths.Data("models/stories260K"),
            Adapter = AdapterMethod.Lora, LoraR = 8, LoraAlpha = 16, TargetModules = ["q_proj", "v_proj"],
            Data = DataFile, Template = "{|}{output}", MaxLength = 32, CompletionOnly = true,
            MicroBatchSize = 4, GradientAccumulationSteps = 2, LearningRate = 1e-2, LrSchedulerType = LrSchedulerType.Linear,
            WarmupSteps = 2, MaxSteps = 6, MaxGradNorm = 1.0, Seed = 7, OutputDir = OutputDir, LoggingSteps = 1,
        };
        return change is null ? c : change(c);
    }

    public static double[] LoggedLosses(string outputDir) =>
        File.ReadAllLines(Path.Combine(outputDir, TrainingLogFile.FileName)).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("loss").GetDouble()).ToArray();

    public void Dispose() => dir.Dispose();
}
