using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Workbench.Adapters;
using Workbench.Adapters.Lora;
using Workbench.Engine;
using Workbench.Models;
using Workbench.Models.Llama;
using Workbench.Quantization;
using Workbench.Training;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb bench train-step</c>: one full LoRA training step (forward, backward, AdamW) of a Llama-shaped model
/// with random frozen weights; the same shapes as bench/train_step_torch.py so the two can be compared.
/// With <c>--config DIR</c> the shape is a real model's; with <c>--load-in-4bit</c> (QLoRA) the model is built
/// directly in 4 bits (each synthetic weight generated, quantised and dropped; embeddings and head in bf16),
/// and the output adds the memory planner's prediction (<see cref="MemoryPlan"/>) next to the measured peak.
/// With <c>--backend torch</c> the same model (same synthetic weights) runs on libtorch through the backend seam
/// (<c>ITrainableLM</c>: its loss leaves out the last position of each row, 1/seq of the head's work).
/// </summary>
public static class BenchTrainStepCommand
{
    public static Command Build()
    {
        var arch = new Option<string>("--arch") { Description = "architecture", DefaultValueFactory = _ => "llama" };
        var hidden = new Option<int>("--hidden") { DefaultValueFactory = _ => 512 };
        var ffn = new Option<int>("--ffn") { DefaultValueFactory = _ => 1376 };
        var heads = new Option<int>("--heads") { DefaultValueFactory = _ => 8 };
        var kvHeads = new Option<int>("--kv-heads") { Description = "key/value heads (default: --heads)" };
        var layers = new Option<int>("--layers") { DefaultValueFactory = _ => 8 };
        var vocab = new Option<int>("--vocab") { DefaultValueFactory = _ => 32000 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 4 };
        var seq = new Option<int>("--seq") { DefaultValueFactory = _ => 256 };
        var loraR = new Option<int>("--lora-r") { DefaultValueFactory = _ => 8 };
        var loraAlpha = new Option<float>("--lora-alpha") { DefaultValueFactory = _ => 16 };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 3 };
        var checkpointing = new Option<bool>("--gradient-checkpointing") { Description = "recompute each layer's activations in backward" };
        var json = new Option<bool>("--json");
        var configDir = new Option<string?>("--config") { Description = "take the shape from a model directory or config.json (llama) instead of --hidden etc." };
        var loadIn4bit = new Option<bool>("--load-in-4bit") { Description = "build the frozen linear layers directly in 4 bits (QLoRA)" };
        var loadIn8bit = new Option<bool>("--load-in-8bit") { Description = "build the frozen linear layers in 8 bits" };
        var quantType = new Option<string>("--quant-type") { Description = "nf4 or fp4 with --load-in-4bit", DefaultValueFactory = _ => "nf4" };
        var doubleQuant = new Option<bool>("--double-quant") { Description = "double-quantise the 4-bit absmax" };
        var optim = new Option<string>("--optim") { Description = $"optimizer: {string.Join(", ", Optimizers.Names)}", DefaultValueFactory = _ => "adamw_torch" };
        var warmup = new Option<int>("--warmup") { Description = "untimed steps before the timed ones", DefaultValueFactory = _ => 1 };
        var frozenDtype = new Option<string>("--frozen-dtype")
        {
            Description = "storage of the frozen matrices without --load-in-4bit/8bit: f32, bf16 or f16 (widened inside the GEMM's packing)",
            DefaultValueFactory = _ => "f32",
        };
        var cmd = new Command("train-step", "Time a LoRA training step of a Llama-shaped model with random weights")
        {
            arch, hidden, ffn, heads, kvHeads, layers, vocab, batch, seq, loraR, loraAlpha, steps, checkpointing, json,
            configDir, loadIn4bit, loadIn8bit, quantType, doubleQuant, optim, warmup, frozenDtype,
        };
        var backend = new BackendChoice.Options();
        backend.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            if (pr.GetValue(arch) != "llama") return CliOutput.Fail($"bench train-step: unsupported --arch '{pr.GetValue(arch)}' (supported: llama)");
            if (Flags.AtLeast(pr, 1, hidden, ffn, heads, layers, vocab, batch, seq, loraR) is { } problem) return CliOutput.Fail(problem);
            int h = pr.GetValue(hidden), nh = pr.GetValue(heads);
            if (h % nh != 0) return CliOutput.Fail($"bench train-step: --hidden {h} is not divisible by --heads {nh}");
            if (!Optimizers.Names.Contains(pr.GetValue(optim))) return CliOutput.Fail($"bench train-step: unknown --optim '{pr.GetValue(optim)}' ({string.Join(", ", Optimizers.Names)})");
            if (pr.GetValue(steps) < 1 || pr.GetValue(warmup) < 0) return CliOutput.Fail("bench train-step: --steps must be ≥ 1 and --warmup ≥ 0");
            if (pr.GetValue(frozenDtype) is not { } frozenName || !FrozenDTypes.TryGetValue(frozenName, out var frozen))
                return CliOutput.Fail($"bench train-step: --frozen-dtype must be f32, bf16 or f16, not '{pr.GetValue(frozenDtype)}'");
            QuantOptions? quant;
            ModelConfig config;
            try
            {
                quant = QuantOptions.FromFlags(pr.GetValue(loadIn4bit), pr.GetValue(loadIn8bit), pr.GetValue(quantType)!, pr.GetValue(doubleQuant));
                config = pr.GetValue(configDir) is { } dir ? ModelConfig.Load(dir)
                    : LlamaShape(h, pr.GetValue(ffn), nh, pr.GetValue(kvHeads) is > 0 and var kv ? kv : nh, pr.GetValue(layers), pr.GetValue(vocab), pr.GetValue(seq));
            }
            catch (Exception e) when (e is ArgumentException or FormatException or IOException) { return CliOutput.Fail($"bench train-step: {e.Message}"); }
            if (config.ModelType != "llama") return CliOutput.Fail($"bench train-step: {config.Source}: model_type '{config.ModelType}' (supported: llama)");
            var compute = backend.From(pr);
            if (compute.Backend == "torch" && pr.GetValue(optim) is not ("adamw_torch" or "adamw_8bit"))
                return CliOutput.Fail("bench train-step: --backend torch has --optim adamw_torch and adamw_8bit");
            if (compute.Backend == "torch" && frozen != DType.F32)
                return CliOutput.Fail("bench train-step: --frozen-dtype is for the managed engine (--backend torch keeps f32)");
            JsonObject result;
            try
            {
                result = Run(config, pr.GetValue(batch), pr.GetValue(seq), pr.GetValue(loraR), pr.GetValue(loraAlpha),
                    pr.GetValue(steps), pr.GetValue(checkpointing), quant, pr.GetValue(optim)!, pr.GetValue(warmup), compute, frozen);
            }
            catch (Exception e) when (BackendChoice.IsUserError(e)) { return CliOutput.Fail($"bench train-step: {e.Message}"); }
            if (pr.GetValue(json)) CliOutput.WriteJson(result);
            else foreach (var (k, v) in result) Console.WriteLine($"{k,-26} {v}");
            return 0;
        });
        return cmd;
    }

    private static readonly Dictionary<string, DType> FrozenDTypes = new() { ["f32"] = DType.F32, ["bf16"] = DType.BF16, ["f16"] = DType.F16 };

    /// <summary>Linux: writing 5 to /proc/self/clear_refs resets the peak resident set (VmHWM), so the steps' own peak can be read.</summary>
    private static bool ResetPeakWorkingSet()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    public static ModelConfig LlamaShape(int hidden, int ffn, int heads, int kvHeads, int layers, int vocab, int maxPositions) => new()
    {
        ModelType = "llama", Architecture = "LlamaForCausalLM", HiddenSize = hidden, IntermediateSize = ffn,
        NumLayers = layers, NumHeads = heads, NumKvHeads = kvHeads, HeadDim = hidden / heads, VocabSize = vocab,
        MaxPositions = maxPositions, RopeTheta = 10000, RotaryPct = 1, NormEps = 1e-5, Norm = NormKind.RmsNorm,
        TieWordEmbeddings = false, UseParallelResidual = false, AttentionBias = false, MlpBias = false,
        HiddenAct = "silu", TorchDtype = "float32",
    };

    public static JsonObject Run(ModelConfig config, int batch, int seq, int r, float alpha, int steps, bool checkpointing,
        QuantOptions? quant = null, string optim = "adamw_torch", int warmup = 1, BackendChoice? compute = null, DType frozen = DType.F32)
    {
        var rng = new Random(0);
        var tokens = Enumerable.Range(0, batch * (seq + 1)).Select(_ => rng.Next(config.VocabSize)).ToArray();
        var inputs = new int[batch * seq];
        var targets = new int[batch * seq];
        for (int b = 0; b < batch; b++)
        {
            Array.Copy(tokens, b * (seq + 1), inputs, b * seq, seq);
            Array.Copy(tokens, b * (seq + 1) + 1, targets, b * seq, seq);
        }

        var build = Stopwatch.StartNew();
        bool torch = compute?.Backend == "torch";
        var (Step, trainableCount, stateBytes) = torch
            ? TorchStep(config, batch, seq, r, alpha, checkpointing, quant, optim == "adamw_8bit", compute!.Device, inputs)
            : ManagedStep(config, batch, seq, r, alpha, checkpointing, quant, optim, frozen, inputs, targets);
        double buildSeconds = build.Elapsed.TotalSeconds;
        long managedAfterBuild = GC.GetTotalMemory(forceFullCollection: true);
        var process = Process.GetCurrentProcess();
        long workingSetAfterBuild = process.WorkingSet64, peakDuringBuild = process.PeakWorkingSet64;
        bool peakReset = ResetPeakWorkingSet();

        for (int i = 0; i < warmup; i++) Step(); // JIT, buffers
        var times = new List<double>();
        var cpuTimes = new List<double>();
        var gcPauses = new List<double>();
        float lastLoss = 0;
        for (int i = 0; i < steps; i++)
        {
            var watch = Stopwatch.StartNew();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var paused = GC.GetTotalPauseDuration();
            lastLoss = Step();
            times.Add(watch.Elapsed.TotalSeconds);
            cpuTimes.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
            gcPauses.Add((GC.GetTotalPauseDuration() - paused).TotalSeconds);
        }
        times.Sort();
        cpuTimes.Sort();
        gcPauses.Sort();
        double seconds = times[times.Count / 2];
        var planOptions = new PlanOptions
        {
            Method = AdapterMethod.Lora, Quantization = quant, Rank = r, Seq = seq, Batch = batch,
            GradientCheckpointing = checkpointing, Optimizer8bit = optim.Contains("8bit"), FrozenBytes = DTypeInfo.SizeOf(frozen),
        };
        return new JsonObject
        {
            ["backend"] = torch ? "torch" : Gemm.Backend.ToString().ToLowerInvariant(),
            ["device"] = compute?.Device ?? "cpu",
            ["threads"] = torch ? Torch.TorchBench.Threads : Par.Threads,
            ["model"] = Path.GetFileName(Path.GetDirectoryName(config.Source)) is { Length: > 0 } name ? name : "synthetic",
            ["quantization"] = quant?.ToString() ?? "none",
            ["frozen_dtype"] = quant is null ? frozen.ToString().ToLowerInvariant() : null,
            ["optimizer"] = optim,
            ["seconds_per_step"] = seconds,
            ["cpu_seconds_per_step"] = cpuTimes[cpuTimes.Count / 2],
            ["gc_pause_seconds_per_step"] = gcPauses[gcPauses.Count / 2],   // the managed heap's share of the step (torch: its wrappers')
            ["tokens_per_second"] = batch * seq / seconds,
            ["build_seconds"] = buildSeconds,
            ["peak_working_set_bytes"] = Math.Max(peakDuringBuild, Process.GetCurrentProcess().PeakWorkingSet64),
            ["peak_working_set_build_bytes"] = peakDuringBuild,
            ["peak_working_set_steps_bytes"] = peakReset ? Process.GetCurrentProcess().PeakWorkingSet64 : null,
            ["working_set_after_build_bytes"] = workingSetAfterBuild,
            ["managed_heap_after_build_bytes"] = managedAfterBuild,
            ["optimizer_state_bytes"] = stateBytes,
            ["gc_heap_limit_bytes"] = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
            ["trainable_parameters"] = trainableCount,
            ["loss"] = lastLoss,
            ["plan"] = quant?.Type != QuantType.Int8 ? PlanCommand.Report(MemoryPlan.For(config, planOptions), planOptions) : null,
        };
    }

    /// <summary>The managed engine's step: forward, cross-entropy over every position, backward, the chosen optimizer.</summary>
    private static (Func<float> Step, long Trainable, long StateBytes) ManagedStep(ModelConfig config, int batch, int seq, int r, float alpha,
        bool checkpointing, QuantOptions? quant, string optim, DType frozen, int[] inputs, int[] targets)
    {
        var random = WeightSources.Random(seed: 0);
        // the frozen matrices (not the norms) in the storage dtype asked for, as a bf16/f16 checkpoint would hold them
        WeightSource stored = (name, shape) => random(name, shape) is var t && t.Rank == 2 ? t.To(frozen) : t;
        var model = quant is null
            ? new LlamaForCausalLM(config, stored)
            : ModelQuantizer.Build(w => new LlamaForCausalLM(config, w), random, quant);
        model.GradientCheckpointing = checkpointing;
        PeftModel.Create(model, new LoraConfig { R = r, LoraAlpha = alpha, TargetModules = TargetModules.AllLinear });
        var trainable = model.TrainableParameters().ToList();
        var optimizer = Optimizers.Create(optim, trainable, lr: 1e-4f);
        float Step()
        {
            var hidden = model.HiddenStates(inputs, batch, seq);                  // (B, T, C)
            var loss = model.HeadLoss(hidden.Reshape(batch * seq, -1), targets);   // the head fused with the loss: no [B·T, V] logits
            optimizer.ZeroGrad();
            loss.Backward();
            optimizer.Step();
            return loss.Item();
        }
        return (Step, trainable.Sum(t => t.Numel), optimizer.StateBytes);
    }

    /// <summary>The torch backend's step through the seam: loss and backward (labels = the inputs, shifted inside), AdamW (8-bit states for adamw_8bit).</summary>
    private static (Func<float> Step, long Trainable, long StateBytes) TorchStep(ModelConfig config, int batch, int seq, int r, float alpha,
        bool checkpointing, QuantOptions? quant, bool eightBitStates, string device, int[] inputs)
    {
        var model = Torch.TorchBench.LoraModel(config, quant, r, alpha, TargetModules.AllLinear, device, eightBitStates);
        model.GradientCheckpointing = checkpointing;
        model.Training = true;
        float Step()
        {
            model.ZeroGrad();
            float loss = (float)model.LossAndBackward(inputs, inputs, batch, seq, 1f, 0);
            model.OptimizerStep(1e-4);
            return loss;
        }
        return (Step, model.TrainableParameters, model.OptimizerStateBytes);
    }
}
