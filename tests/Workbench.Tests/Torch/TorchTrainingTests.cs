using Workbench.Adapters;
using Workbench.Adapters.Ia3;
using Workbench.Adapters.Lora;
using Workbench.Backends;
using Workbench.Backends.Managed;
using Workbench.Data.FewShot;
using Workbench.Engine;
using Workbench.Evaluation;
using Workbench.Models;
using Workbench.Quantization;
using Workbench.Tests.Support;
using Workbench.Tests.Training;
using Workbench.Tokenizers;
using Workbench.Torch;
using Workbench.Torch.Quantization;
using Workbench.Torch.Training;
using Workbench.Training;

namespace Workbench.Tests.Torch;

/// <summary>Adapters, 4-bit layers, training and evaluation on the torch backend against the managed engine (CPU).</summary>
public class TorchTrainingTests
{
    static readonly string Stories = RepoPaths.Data("models/stories260K");
    static readonly string KoTiny = RepoPaths.Data("models/ko-tiny");

    /// <summary>One micro-batch's loss and every trainable tensor's gradient, by parameter name, on each backend.</summary>
    static (double Loss, Dictionary<string, float[]> Grads) Step(IComputeBackend backend, string directory, AdapterConfig adapter, QuantOptions? quant, DType? dtype)
    {
        var model = backend.LoadForTraining(directory, new TrainingSetup { Adapter = adapter, Seed = 3, Quantization = quant, BaseDType = dtype });
        int vocab = model.Model.Config.VocabSize, b = 2, t = 9;
        var rng = new Random(5);
        var ids = Enumerable.Range(0, b * t).Select(_ => rng.Next(vocab)).ToArray();
        var labels = ids.Select((id, i) => i % t < 3 ? -100 : id).ToArray();
        double loss = model.LossAndBackward(ids, labels, b, t, 1f, 0);
        var grads = model switch
        {
            ManagedTrainableLM m => m.TrainableTensors().ToDictionary(p => p.Name, p => p.Tensor.Grad!.ToArray()),
            TorchTrainableLM m => m.Peft.Trainable().ToDictionary(p => p.Name, p => TorchTensors.ToFloats(p.Tensor.Parameter.grad!)),
            _ => throw new InvalidOperationException(),
        };
        return (loss, grads);
    }

    public static TheoryData<string, string> Adapters => new()
    {
        { "lora", Stories }, { "lora", KoTiny }, { "ia3", Stories }, { "ia3", KoTiny }, { "qlora", Stories }, { "lora-bf16", Stories },
    };

    [Theory]
    [MemberData(nameof(Adapters))]
    public void GradientsAgreeWithTheManagedEngine(string method, string directory)
    {
        AdapterConfig adapter = method == "ia3"
            ? new Ia3Config { TargetModules = TargetModules.AllLinear }
            : new LoraConfig { R = 4, LoraAlpha = 8, InitLoraWeights = LoraInit.Random, UseRsLora = true, TargetModules = TargetModules.AllLinear };
        var quant = method == "qlora" ? QuantOptions.QLora : null;
        DType? dtype = method == "lora-bf16" ? DType.BF16 : null;                  // weights widened in forward and again in backward
        var (managedLoss, managed) = Step(ManagedBackend.Instance, directory, adapter, quant, dtype);
        var (torchLoss, torch) = Step(TorchBackend.Instance, directory, adapter, quant, dtype);
        Assert.Equal(managedLoss, torchLoss, 1e-4 * Math.Abs(managedLoss));
        Assert.Equal(managed.Keys.Order(), torch.Keys.Order());
        foreach (var (name, g) in managed) TorchModelTests.AssertClose(g, torch[name], 1e-4, name);
    }

    /// <summary>
    /// The preference primitive of the seam: per-row completion log-probabilities (policy and reference) and their
    /// backward agree with the managed engine; the reference is the base with the adapter disabled.
    /// </summary>
    [Fact]
    public void CompletionLogProbsAndTheirBackwardAgreeWithTheManagedEngine()
    {
        var adapter = new LoraConfig { R = 4, LoraAlpha = 8, InitLoraWeights = LoraInit.Random, TargetModules = TargetModules.AllLinear };
        var rng = new Random(7);
        int b = 3, t = 10;
        var ids = Enumerable.Range(0, b * t).Select(_ => rng.Next(512)).ToArray();
        var labels = ids.Select((id, i) => i % t < 4 ? -100 : id).ToArray();
        float[] seeds = [0.5f, -1f, 2f];
        (double[] Policy, double[] Reference, Dictionary<string, float[]> Grads) Run(IComputeBackend backend)
        {
            var model = backend.LoadForTraining(Stories, new TrainingSetup { Adapter = adapter, Seed = 3 });
            var reference = model.CompletionLogProbs(ids, labels, b, t, reference: true, 0);
            var policy = model.CompletionLogProbs(ids, labels, b, t, reference: false, 0);
            model.BackwardCompletionLogProbs(seeds);
            var grads = model switch
            {
                ManagedTrainableLM m => m.TrainableTensors().ToDictionary(p => p.Name, p => p.Tensor.Grad!.ToArray()),
                TorchTrainableLM m => m.Peft.Trainable().ToDictionary(p => p.Name, p => TorchTensors.ToFloats(p.Tensor.Parameter.grad!)),
                _ => throw new InvalidOperationException(),
            };
            return (policy, reference, grads);
        }
        var managed = Run(ManagedBackend.Instance);
        var torch = Run(TorchBackend.Instance);
        for (int i = 0; i < b; i++)
        {
            Assert.Equal(managed.Policy[i], torch.Policy[i], 1e-4 * Math.Abs(managed.Policy[i]));
            Assert.Equal(managed.Reference[i], torch.Reference[i], 1e-4 * Math.Abs(managed.Reference[i]));
        }
        Assert.NotEqual(managed.Policy[0], managed.Reference[0], 1e-3);                  // the random adapter changes the policy
        foreach (var (name, g) in managed.Grads) TorchModelTests.AssertClose(g, torch.Grads[name], 1e-4, name);
    }

    [Fact]
    public void RecomputedLayersGiveTheSameLossAndGradients()
    {
        var adapter = new LoraConfig { R = 4, InitLoraWeights = LoraInit.Random, LoraDropout = 0.1f, TargetModules = TargetModules.AllLinear };
        (double, Dictionary<string, float[]>) Run(bool checkpointing)
        {
            var model = (TorchTrainableLM)TorchBackend.Instance.LoadForTraining(Stories, new TrainingSetup { Adapter = adapter, Seed = 3 });
            model.GradientCheckpointing = checkpointing;
            model.Training = true;                                   // dropout on: masks must repeat in the recomputation
            var ids = Enumerable.Range(0, 16).Select(i => (i * 31) % 512).ToArray();
            double loss = model.LossAndBackward(ids, ids, 2, 8, 1f, 4);
            return (loss, model.Peft.Trainable().ToDictionary(p => p.Name, p => TorchTensors.ToFloats(p.Tensor.Parameter.grad!)));
        }
        var (plainLoss, plain) = Run(false);
        var (recomputedLoss, recomputed) = Run(true);
        Assert.Equal(plainLoss, recomputedLoss, 1e-6);
        foreach (var (name, g) in plain) TorchModelTests.AssertClose(g, recomputed[name], 1e-5, name);
    }

    [Theory]
    [InlineData(QuantType.Nf4, false, 64)]
    [InlineData(QuantType.Nf4, true, 64)]
    [InlineData(QuantType.Fp4, true, 128)]
    [InlineData(QuantType.Fp4, false, 32)]
    public void DequantisedWeightsAreBitIdentical(QuantType type, bool doubleQuant, int blockSize)
    {
        // 37 × 53 = 1961 elements: an odd count (a half-used last byte) and a partial last block
        var weight = Workbench.Engine.Tensor.Randn(new Random(11), 0.05f, 37, 53);
        var q = QuantizedTensor.Quantize(weight, type, blockSize, doubleQuant);
        var layer = new TorchLinear4bit(q, null, TorchRuntime.Device("cpu"));
        Assert.Equal(q.Dequantize().ToArray(), TorchTensors.ToFloats(layer.DenseWeight()));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AdamWStepsMatchTheManagedOptimizers(bool eightBit)
    {
        // 80 × 64 = 5120 elements: enough for 8-bit states (≥ 4096), with a partial last block of 256
        var rng = new Random(9);
        var initial = Workbench.Engine.Tensor.Randn(rng, 0.1f, 80, 64);
        var grads = Enumerable.Range(0, 3).Select(_ => Workbench.Engine.Tensor.Randn(rng, 0.01f, 80, 64)).ToList();
        var managed = initial.Clone();
        managed.RequiresGrad = true;
        Workbench.Engine.Optim.IOptimizer reference = eightBit
            ? new Workbench.Quantization.AdamW8bit([managed], lr: 1e-2f, weightDecay: 0.01f)
            : new Workbench.Engine.Optim.AdamW([managed], lr: 1e-2f, weightDecay: 0.01f);
        var torch = Workbench.Torch.Adapters.AdapterTensor.Create(initial, TorchRuntime.Device("cpu"));
        var optimizer = new TorchAdamW([("w", torch)], weightDecay: 0.01, eightBitStates: eightBit);
        foreach (var g in grads)
        {
            managed.Grad = g;
            reference.Step();
            torch.Parameter.grad = TorchTensors.FromHost(g, TorchRuntime.Device("cpu"));
            optimizer.Step(1e-2);
        }
        TorchModelTests.AssertClose(managed.ToArray(), torch.Host.ToArray(), 1e-6, eightBit ? "adamw_8bit" : "adamw");
        Assert.Equal(eightBit ? 5120 * 2 + 4 * 2 * 20 : 8 * 5120, optimizer.StateBytes);
    }

    [Fact]
    public void FourBitMatmulsInBlocksOfRowsMatchTheWholeWeight()
    {
        // 4100 × 4096: two blocks of rows (4096 rows of 4096 make one), forward and dx = dy·W
        var q = QuantizedTensor.Quantize(Workbench.Engine.Tensor.Randn(new Random(2), 0.02f, 4100, 4096), QuantType.Nf4, 64, doubleQuant: true);
        var layer = new TorchLinear4bit(q, null, TorchRuntime.Device("cpu"));
        TorchSharp.torch.manual_seed(1);
        var x = TorchSharp.torch.randn(3, 4096).requires_grad_(true);
        var y = layer.call(x);
        y.sum().backward();
        var w = layer.DenseWeight();
        var expected = TorchSharp.torch.nn.functional.linear(x.detach(), w);
        TorchModelTests.AssertClose(TorchTensors.ToFloats(expected), TorchTensors.ToFloats(y), 1e-5, "y");
        TorchModelTests.AssertClose(TorchTensors.ToFloats(TorchSharp.torch.ones(3, 4100).matmul(w)), TorchTensors.ToFloats(x.grad!), 1e-5, "dx");
    }

    [Fact]
    public void QLoraModelsGiveTheSameLogits()
    {
        var setup = new InferenceSetup { Quantization = QuantOptions.QLora };
        var ids = Enumerable.Range(0, 12).Select(i => (i * 37) % 512).ToArray();
        TorchModelTests.AssertClose(ManagedBackend.Instance.Load(Stories, setup).Logits(ids, 2, 6),
            TorchBackend.Instance.Load(Stories, setup).Logits(ids, 2, 6), 1e-4, "stories260K nf4+dq");
    }

    [Fact]
    public void TwentyStepsFollowTheSameLossCurveAndAdaptersLoadAcrossBackends()
    {
        using var data = new StoriesRun(records: 40);
        var config = data.Config(c => c with { MaxSteps = 20, GradientAccumulationSteps = 1, TargetModules = ["all-linear"], LoraDropout = 0 });
        var torchConfig = config with { OutputDir = config.OutputDir + "-torch" };
        var managedRun = TrainingRun.Create(config);
        managedRun.Trainer.Train();
        managedRun.SaveAdapter();
        var torchRun = TrainingRun.Create(torchConfig, backend: TorchBackend.Instance);
        torchRun.Trainer.Train();
        torchRun.SaveAdapter();
        var (managedLosses, torchLosses) = (StoriesRun.LoggedLosses(config.OutputDir), StoriesRun.LoggedLosses(torchConfig.OutputDir));
        Assert.Equal(20, torchLosses.Length);
        for (int i = 0; i < 20; i++)
            Assert.True(Math.Abs(managedLosses[i] - torchLosses[i]) <= 1e-3 * managedLosses[i], $"step {i + 1}: managed {managedLosses[i]}, torch {torchLosses[i]}");
        Assert.True(torchLosses[^1] < torchLosses[0]);

        // each backend's adapter files in the other: equal outputs
        var ids = Enumerable.Range(0, 10).Select(i => (i * 53) % 512).ToArray();
        foreach (var dir in new[] { config.OutputDir, torchConfig.OutputDir })
        {
            var setup = new InferenceSetup { AdapterDirectory = dir };
            TorchModelTests.AssertClose(ManagedBackend.Instance.Load(Stories, setup).Logits(ids, 1, 10),
                TorchBackend.Instance.Load(Stories, setup).Logits(ids, 1, 10), 1e-4, dir);
        }
    }

    [Fact]
    public void NsmcFewShotAccuracyOfKoTinyIsIdentical()
    {
        var tokenizer = Tokenizer.Load(KoTiny);
        var task = FewShotTask.Load(RepoPaths.Data("tasks/nsmc.json")) with { TestSampleSize = 20 };
        var items = FewShotSampler.Create(task, tokenizer).Render("prompt1");
        FewShotResult Run(ICausalLM model) => new FewShotEvaluator(model, tokenizer).Evaluate(task, "prompt1", items, FewShotScoring.LogLikelihood);
        var managed = Run(ManagedBackend.Instance.Load(KoTiny, new InferenceSetup()));
        var torch = Run(TorchBackend.Instance.Load(KoTiny, new InferenceSetup()));
        Assert.Equal(managed.Items.Select(i => i.Predicted), torch.Items.Select(i => i.Predicted));
        Assert.Equal(managed.Accuracy, torch.Accuracy);
    }
}
