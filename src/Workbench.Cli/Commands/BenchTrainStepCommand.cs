using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Workbench.Adapters;
using Workbench.Adapters.Lora;
using Workbench.Engine;
using Workbench.Engine.Optim;
using Workbench.Models;
using Workbench.Models.Llama;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb bench train-step</c>: one full LoRA training step (forward, backward, AdamW) of a Llama-shaped model
/// with random frozen weights; the same shapes as bench/train_step_torch.py so the two can be compared.
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
        var cmd = new Command("train-step", "Time a LoRA training step of a Llama-shaped model with random weights")
        {
            arch, hidden, ffn, heads, kvHeads, layers, vocab, batch, seq, loraR, loraAlpha, steps, checkpointing, json,
        };
        cmd.SetAction(pr =>
        {
            if (pr.GetValue(arch) != "llama") return CliOutput.Fail($"bench train-step: unsupported --arch '{pr.GetValue(arch)}' (supported: llama)");
            int h = pr.GetValue(hidden), nh = pr.GetValue(heads);
            if (h % nh != 0) return CliOutput.Fail($"bench train-step: --hidden {h} is not divisible by --heads {nh}");
            var config = LlamaShape(h, pr.GetValue(ffn), nh, pr.GetValue(kvHeads) is > 0 and var kv ? kv : nh,
                pr.GetValue(layers), pr.GetValue(vocab), pr.GetValue(seq));
            var result = Run(config, pr.GetValue(batch), pr.GetValue(seq), pr.GetValue(loraR), pr.GetValue(loraAlpha),
                pr.GetValue(steps), pr.GetValue(checkpointing));
            if (pr.GetValue(json)) CliOutput.WriteJson(result);
            else foreach (var (k, v) in result) Console.WriteLine($"{k,-26} {v}");
            return 0;
        });
        return cmd;
    }

    public static ModelConfig LlamaShape(int hidden, int ffn, int heads, int kvHeads, int layers, int vocab, int maxPositions) => new()
    {
        ModelType = "llama", Architecture = "LlamaForCausalLM", HiddenSize = hidden, IntermediateSize = ffn,
        NumLayers = layers, NumHeads = heads, NumKvHeads = kvHeads, HeadDim = hidden / heads, VocabSize = vocab,
        MaxPositions = maxPositions, RopeTheta = 10000, RotaryPct = 1, NormEps = 1e-5, Norm = NormKind.RmsNorm,
        TieWordEmbeddings = false, UseParallelResidual = false, AttentionBias = false, MlpBias = false,
        HiddenAct = "silu", TorchDtype = "float32",
    };

    public static JsonObject Run(ModelConfig config, int batch, int seq, int r, float alpha, int steps, bool checkpointing)
    {
        var model = new LlamaForCausalLM(config, WeightSources.Random(seed: 0));
        model.GradientCheckpointing = checkpointing;
        PeftModel.Create(model, new LoraConfig
        {
            R = r, LoraAlpha = alpha,
            TargetModules = TargetModules.Of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
        });
        var trainable = model.TrainableParameters().ToList();
        var optimizer = new AdamW(trainable, lr: 1e-4f);

        var rng = new Random(0);
        var tokens = Enumerable.Range(0, batch * (seq + 1)).Select(_ => rng.Next(config.VocabSize)).ToArray();
        var inputs = new int[batch * seq];
        var targets = new int[batch * seq];
        for (int b = 0; b < batch; b++)
        {
            Array.Copy(tokens, b * (seq + 1), inputs, b * seq, seq);
            Array.Copy(tokens, b * (seq + 1) + 1, targets, b * seq, seq);
        }

        float Step()
        {
            var logits = model.Forward(inputs, batch, seq);                       // (B, T, V)
            var loss = Ops.CrossEntropy(logits.Reshape(batch * seq, config.VocabSize), targets);
            optimizer.ZeroGrad();
            loss.Backward();
            optimizer.Step();
            return loss.Item();
        }

        Step(); // warm-up: JIT, buffers
        var times = new List<double>();
        float lastLoss = 0;
        for (int i = 0; i < steps; i++)
        {
            var watch = Stopwatch.StartNew();
            lastLoss = Step();
            times.Add(watch.Elapsed.TotalSeconds);
        }
        times.Sort();
        double seconds = times[times.Count / 2];
        return new JsonObject
        {
            ["backend"] = Gemm.Backend.ToString().ToLowerInvariant(),
            ["threads"] = Par.Threads,
            ["seconds_per_step"] = seconds,
            ["tokens_per_second"] = batch * seq / seconds,
            ["peak_working_set_bytes"] = Process.GetCurrentProcess().PeakWorkingSet64,
            ["trainable_parameters"] = trainable.Sum(t => t.Numel),
            ["loss"] = lastLoss,
        };
    }
}
