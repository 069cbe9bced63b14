using Workbench.Adapters;
using Workbench.Data;
using Workbench.Engine;
using Workbench.Tests.Support;
using Workbench.Training;

namespace Workbench.Tests.Training;

public class TrainerTests
{
    private static byte[] Bytes(string checkpoint, string file) => File.ReadAllBytes(Path.Combine(checkpoint, file));

    [Theory]
    [InlineData(AdapterMethod.Lora, 0f)]
    [InlineData(AdapterMethod.Lora, 0.1f)]   // dropout masks come from (seed, micro-batch, layer): replayed after resume
    [InlineData(AdapterMethod.Ia3, 0f)]
    public void CancelledAndResumedRunMatchesAnUninterruptedOneBitForBit(AdapterMethod adapter, float dropout)
    {
        // 18 sequences in micro-batches of 4: 5 batches per epoch, the last short; 6 steps of 2 micro-batches cross two epochs.
        using var data = new StoriesRun(records: 18);
        var straight = data.Config(c => c with
        {
            Adapter = adapter, LoraDropout = dropout, TargetModules = adapter == AdapterMethod.Ia3 ? [] : c.TargetModules,
            LearningRate = adapter == AdapterMethod.Ia3 ? 3e-2 : c.LearningRate, OutputDir = Path.Combine(data.OutputDir, "straight"),
        });
        var summary = TrainingRun.Create(straight).Trainer.Train();
        Assert.Equal(6, summary.Steps);
        Assert.False(summary.Cancelled);

        var interrupted = straight with { OutputDir = Path.Combine(data.OutputDir, "interrupted") };
        using var cancel = new CancellationTokenSource();
        var first = TrainingRun.Create(interrupted).Trainer;
        first.OnStep = s => { if (s.Step == 3) cancel.Cancel(); };
        var stopped = first.Train(cancel.Token);
        Assert.True(stopped.Cancelled);
        Assert.Equal(3, stopped.Steps);
        Assert.Equal(new TrainerState(3, 1, 1, 7, first.State.ElapsedSeconds), first.State);   // 6 micro-batches: epoch 1, batch 1 next

        var resumed = TrainingRun.Create(interrupted, resume: "latest");
        Assert.EndsWith("checkpoint-3", resumed.ResumedFrom);
        var finished = resumed.Trainer.Train();
        Assert.Equal(6, finished.Steps);

        // Same losses on every step (the first three also show that two fresh runs agree), same weights and moments.
        var expected = StoriesRun.LoggedLosses(straight.OutputDir);
        Assert.Equal(6, expected.Length);
        Assert.Equal(expected, StoriesRun.LoggedLosses(interrupted.OutputDir));
        Assert.Equal(summary.FinalLoss, finished.FinalLoss);
        Assert.Equal(Bytes(summary.Checkpoint, TrainerCheckpoint.WeightsFile), Bytes(finished.Checkpoint, TrainerCheckpoint.WeightsFile));
        Assert.Equal(Bytes(summary.Checkpoint, TrainerCheckpoint.OptimizerFile), Bytes(finished.Checkpoint, TrainerCheckpoint.OptimizerFile));
        Assert.True(expected[^1] < expected[0], $"loss should fall: {string.Join(", ", expected)}");
    }

    [Fact]
    public void ResumingFromAPeriodicCheckpointGivesTheSameWeights()
    {
        using var data = new StoriesRun(records: 18);
        var config = data.Config(c => c with { SaveSteps = 2, LrSchedulerType = LrSchedulerType.Cosine, WeightDecay = 0.1 });
        var full = TrainingRun.Create(config).Trainer.Train();
        Assert.True(Directory.Exists(Path.Combine(data.OutputDir, "checkpoint-2")));
        Assert.True(Directory.Exists(Path.Combine(data.OutputDir, "checkpoint-4")));
        var finalWeights = Bytes(full.Checkpoint, TrainerCheckpoint.WeightsFile);

        var again = TrainingRun.Create(config, resume: Path.Combine(data.OutputDir, "checkpoint-4")).Trainer.Train();
        Assert.Equal(6, again.Steps);
        Assert.Equal(finalWeights, Bytes(again.Checkpoint, TrainerCheckpoint.WeightsFile));
        Assert.Equal(6, StoriesRun.LoggedLosses(data.OutputDir).Length);   // steps 5–6 replaced, not appended twice
        Assert.Empty(Directory.EnumerateDirectories(data.OutputDir, ".*"));  // no temporary folders left behind
    }

    [Fact]
    public void GradientCheckpointingGivesTheSameLosses()
    {
        using var data = new StoriesRun(records: 18);
        var plain = data.Config(c => c with { MaxSteps = 3, OutputDir = Path.Combine(data.OutputDir, "plain") });
        var recomputed = plain with { GradientCheckpointing = true, OutputDir = Path.Combine(data.OutputDir, "recomputed") };
        TrainingRun.Create(plain).Trainer.Train();
        var run = TrainingRun.Create(recomputed);
        run.Trainer.Train();
        Assert.True(run.Model.GradientCheckpointing);
        var expected = StoriesRun.LoggedLosses(plain.OutputDir);
        var actual = StoriesRun.LoggedLosses(recomputed.OutputDir);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5);
    }

    [Fact]
    public void ResumeRefusesChangedSettings()
    {
        using var data = new StoriesRun(records: 18);
        var config = data.Config(c => c with { MaxSteps = 2 });
        TrainingRun.Create(config).Trainer.Train();
        var e = Assert.Throws<TrainingConfigException>(() => TrainingRun.Create(config with { LearningRate = 1e-3, Seed = 8 }, resume: "latest"));
        Assert.Contains("learning_rate, seed", e.Message);
        Assert.Throws<TrainingConfigException>(() => TrainingRun.Create(config, resume: Path.Combine(data.OutputDir, "nope")));
    }

    [Fact]
    public void CancellationSavesACompleteCheckpointAndASummary()
    {
        using var data = new StoriesRun(records: 18);
        using var cancel = new CancellationTokenSource();
        var trainer = TrainingRun.Create(data.Config(c => c with { MaxSteps = 20 })).Trainer;
        trainer.OnStep = s => { if (s.Step == 2) cancel.Cancel(); };
        var summary = trainer.Train(cancel.Token);
        Assert.True(summary.Cancelled);
        Assert.Equal(2, summary.Steps);
        Assert.Equal(20, summary.TotalSteps);
        var checkpoint = Path.Combine(data.OutputDir, "checkpoint-2");
        Assert.Equal(checkpoint, summary.Checkpoint);
        foreach (var f in new[] { TrainerCheckpoint.WeightsFile, TrainerCheckpoint.OptimizerFile, TrainerCheckpoint.StateFile, TrainerCheckpoint.ConfigFile })
            Assert.True(File.Exists(Path.Combine(checkpoint, f)), f);
        var loaded = TrainerCheckpoint.Load(checkpoint);
        Assert.Equal(2, loaded.OptimizerSteps);
        Assert.Equal(new LrSchedule(LrSchedulerType.Linear, 1e-2, 2, 20), loaded.Schedule);
        Assert.Equal(["model.layers.0.self_attn.q_proj.lora_A.default.weight", "model.layers.0.self_attn.q_proj.lora_B.default.weight"],
            loaded.Weights.Keys.Order().Take(2));
        Assert.Equal(2 * loaded.Weights.Count, loaded.Moments.Count);
        var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(data.OutputDir, TrainingSummary.FileName))).RootElement;
        Assert.True(json.GetProperty("cancelled").GetBoolean());
        Assert.Equal(2, json.GetProperty("steps").GetInt32());
    }

    [Fact]
    public void NanLossStopsNamingTheStepAndSavesNothingCorrupt()
    {
        using var data = new StoriesRun(records: 18);
        var run = TrainingRun.Create(data.Config(c => c with { SaveSteps = 2 }));
        var loraA = run.Model.TrainableTensors()
            .First(p => p.Name == "model.layers.0.self_attn.q_proj.lora_A.default.weight").Tensor;
        run.Trainer.OnStep = s => { if (s.Step == 2) loraA.Span[0] = float.NaN; };
        var e = Assert.Throws<TrainingDivergedException>(() => run.Trainer.Train());
        Assert.Equal(3, e.Step);
        Assert.StartsWith("step 3: loss is NaN on micro-batch 1 of 2", e.Message);
        Assert.Equal(["checkpoint-2"], Directory.EnumerateDirectories(data.OutputDir).Select(Path.GetFileName));
        Assert.False(File.Exists(Path.Combine(data.OutputDir, TrainingSummary.FileName)));
        foreach (var t in TrainerCheckpoint.Load(Path.Combine(data.OutputDir, "checkpoint-2")).Weights.Values)
            Assert.All(t.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    /// <summary>
    /// One micro-batch of 4 and four of 1 with accumulation 4 give the same gradient when every sequence has the
    /// same number of targets: transformers' normalisation is the mean over micro-batches of each micro-batch's
    /// token mean, which equals the token mean over all four only when the counts are equal (here: 4 sequences of
    /// 12 tokens, every position a target, no padding). With unequal counts the two differ by design.
    /// </summary>
    [Fact]
    public void GradientAccumulationOfFourSinglesEqualsOneBatchOfFour()
    {
        using var data = new StoriesRun(records: 12);
        var run = TrainingRun.Create(data.Config(c => c with { Adapter = AdapterMethod.None }));
        var examples = run.Examples.Where(e => e.Length >= 12).Take(4).Select(e => new TrainingExample(e.InputIds[..12], e.InputIds[..12])).ToList();
        var parameters = run.Model.TrainableTensors().Select(p => p.Tensor).ToList();

        Tensor[] Gradients(IReadOnlyList<Batch> batches)
        {
            foreach (var p in parameters) p.Grad = null;
            run.Trainer.AccumulateGradients(batches, 1);
            return parameters.Select(p => p.Grad!.Clone()).ToArray();
        }

        var whole = Gradients([Batch.Collate(examples, 0)]);
        var singles = Gradients(examples.Select(e => Batch.Collate([e], 0)).ToList());
        // fp32 sums in another order: gradients reach ~1, so an absolute 1e-5 is a few ulps of the largest
        for (int i = 0; i < whole.Length; i++) Close.Assert(whole[i], singles[i], rtol: 1e-4f, atol: 1e-5f, $"gradient {i}");
        Assert.Contains(whole, g => g.ToArray().Max(MathF.Abs) > 1e-3f);   // the gradients are not trivially zero
    }
}
