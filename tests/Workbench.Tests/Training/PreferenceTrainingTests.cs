using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Adapters;
using Workbench.Quantization;
using Workbench.Tests.Support;
using Workbench.Training;

namespace Workbench.Tests.Training;

/// <summary>
/// DPO and ORPO through the SFT trainer's machinery on the real stories260K Llama: pairs made from the Alpaca sample
/// (prompt = an instruction, chosen = its output, rejected = the next record's output), short sequences.
/// </summary>
public class PreferenceTrainingTests
{
    private sealed class PreferenceRun : IDisposable
    {
        private readonly TempDir dir = new();
        public string DataFile { get; }
        public string OutputDir => dir.File("out");

        public PreferenceRun(int pairs = 12)
        {
            var alpaca = JsonNode.Parse(File.ReadAllText(RepoPaths.Data("alpaca/alpaca_sample.json")))!.AsArray();
            string Cut(int i) => " " + string.Concat(alpaca[i]!["output"]!.GetValue<string>().Take(40));
            DataFile = dir.File("pairs.jsonl");
            File.WriteAllLines(DataFile, Enumerable.Range(0, pairs).Select(i => new JsonObject
            {
                ["prompt"] = alpaca[i]!["instruction"]!.GetValue<string>() + "\n", ["chosen"] = Cut(i), ["rejected"] = Cut(i + 1),
            }.ToJsonString()));
        }

        public TrainingConfig Config(TrainingMethod method, Func<TrainingConfig, TrainingConfig>? change = null)
        {
            var c = new TrainingConfig
            {
                Method = method, BaseModel = RepoPaths.Data("models/stories260K"), Adapter = AdapterMethod.Lora, LoraR = 4, LoraAlpha = 8,
                TargetModules = ["q_proj", "v_proj"], Data = DataFile, MaxLength = 40, MaxPromptLength = 16, MicroBatchSize = 3,
                GradientAccumulationSteps = 2, LearningRate = 1e-2, LrSchedulerType = LrSchedulerType.Linear, WarmupSteps = 1, MaxSteps = 4,
                Seed = 11, OutputDir = OutputDir, LoggingSteps = 1,
            };
            return change is null ? c : change(c);
        }

        public void Dispose() => dir.Dispose();
    }

    private static JsonElement[] Log(string outputDir) =>
        File.ReadAllLines(Path.Combine(outputDir, TrainingLogFile.FileName)).Select(l => JsonDocument.Parse(l).RootElement).ToArray();

    [Fact]
    public void DpoStartsAtLnTwoWithZeroMarginsAndLogsTrlsMetrics()
    {
        using var data = new PreferenceRun();
        TrainingRun.Create(data.Config(TrainingMethod.Dpo, c => c with { MaxSteps = 3 })).Trainer.Train();
        var log = Log(data.OutputDir);
        Assert.Equal(Math.Log(2), log[0].GetProperty("loss").GetDouble());   // the adapter at its initial value is the reference
        Assert.Equal(0, log[0].GetProperty("rewards/margins").GetDouble());
        foreach (var name in new[] { "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected" })
            Assert.True(log[^1].TryGetProperty(name, out _), name);
        Assert.True(log[^1].GetProperty("rewards/margins").GetDouble() > 0, "margins should grow after two updates");
    }

    public static TheoryData<TrainingMethod, AdapterMethod, QuantType?, DpoLossType, bool> Variants() => new()
    {
        { TrainingMethod.Dpo, AdapterMethod.Lora, null, DpoLossType.Sigmoid, false },
        { TrainingMethod.Dpo, AdapterMethod.Lora, QuantType.Nf4, DpoLossType.Ipo, true },
        { TrainingMethod.Orpo, AdapterMethod.Ia3, null, DpoLossType.Sigmoid, false },
        { TrainingMethod.Dpo, AdapterMethod.None, null, DpoLossType.Sigmoid, true },   // full fine-tune: the reference is precomputed before a resume loads weights
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void ACancelledAndResumedPreferenceRunMatchesAnUninterruptedOneBitForBit(TrainingMethod method, AdapterMethod adapter, QuantType? quantization,
        DpoLossType lossType, bool precompute)
    {
        using var data = new PreferenceRun();
        var straight = data.Config(method, c => c with
        {
            Adapter = adapter, Quantization = quantization, LossType = lossType, PrecomputeRefLogProbs = precompute, LabelSmoothing = 0.1,
            TargetModules = adapter == AdapterMethod.Lora ? c.TargetModules : [], LearningRate = adapter == AdapterMethod.None ? 1e-3 : c.LearningRate,
            OutputDir = Path.Combine(data.OutputDir, "straight"),
        });
        var summary = TrainingRun.Create(straight).Trainer.Train();

        var interrupted = straight with { OutputDir = Path.Combine(data.OutputDir, "interrupted") };
        using var cancel = new CancellationTokenSource();
        var first = TrainingRun.Create(interrupted).Trainer;
        first.OnStep = s => { if (s.Step == 2) cancel.Cancel(); };
        Assert.True(first.Train(cancel.Token).Cancelled);
        var finished = TrainingRun.Create(interrupted, resume: "latest").Trainer.Train();

        string[] Lines(string dir) => Log(dir).Select(l => string.Join(",", l.EnumerateObject()
            .Where(p => !p.Name.Contains("second") && !p.Name.StartsWith("peak") && !p.Name.StartsWith("elapsed")).Select(p => $"{p.Name}={p.Value}"))).ToArray();
        Assert.Equal(Lines(straight.OutputDir), Lines(interrupted.OutputDir));
        Assert.Equal(File.ReadAllBytes(Path.Combine(summary.Checkpoint, TrainerCheckpoint.WeightsFile)),
            File.ReadAllBytes(Path.Combine(finished.Checkpoint, TrainerCheckpoint.WeightsFile)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(summary.Checkpoint, TrainerCheckpoint.OptimizerFile)),
            File.ReadAllBytes(Path.Combine(finished.Checkpoint, TrainerCheckpoint.OptimizerFile)));
        if (method == TrainingMethod.Orpo) Assert.True(Log(straight.OutputDir)[0].TryGetProperty("log_odds_ratio", out _));
    }
}
