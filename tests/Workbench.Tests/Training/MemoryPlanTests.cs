using Workbench.Adapters;
using System.Text.Json;
using Workbench.Adapters.Lora;
using Workbench.Cli;
using Workbench.Engine;
using Workbench.Models;
using Workbench.Models.Llama;
using Workbench.Quantization;
using Workbench.Tests.Support;
using Workbench.Training;

namespace Workbench.Tests.Training;

/// <summary>
/// The planner on the tiny fixture config (d 64, ffn 128, 2 layers, 4 heads of 16, 2 KV heads, vocab 96, untied),
/// every figure worked out by hand in the comments.
/// </summary>
public class MemoryPlanTests
{
    private static readonly ModelConfig Tiny = ModelConfig.Load(Fixtures.PathOf("qlora/tiny-llama-bnb4"));
    private static readonly PlanOptions QLora = new() { Method = AdapterMethod.Lora, Quantization = new QuantOptions { DoubleQuant = true }, Rank = 4, Seq = 8, Batch = 1 };

    [Fact]
    public void QLoraPartsMatchTheHandComputation()
    {
        var plan = MemoryPlan.For(Tiny, QLora);
        // parameters: embed 6144 + 2 × (q 4096 + k 2048 + v 2048 + o 4096 + 3 × 8192 + norms 128) + norm 64 + head 6144
        Assert.Equal(86_336, plan.Parameters);
        // codes: half of 2 × 36,864 linear weights
        Assert.Equal(36_864, plan.QuantizedCodeBytes);
        // double quant per matrix: blocks (64, 32, 32, 64, 128, 128, 128) + 4 B nested absmax + 4 B offset → 2 × (576 + 7·8)
        Assert.Equal(1_264, plan.QuantizationConstantBytes);
        // + embeddings and head in bf16 (2 × 6144 × 2) + norms fp32 (320 × 4)
        Assert.Equal(36_864 + 1_264 + 24_576 + 1_280, plan.WeightBytes);
        // LoRA r = 4: per layer 4·(128 + 96 + 96 + 128 + 192 + 192 + 192) = 4,096
        Assert.Equal(8_192, plan.TrainableParameters);
        Assert.Equal(32_768, plan.AdapterBytes);
        Assert.Equal(32_768, plan.GradientBytes);
        Assert.Equal(65_536, plan.OptimizerBytes);
        // per layer, N = 8: 8·(6·64 + 5·64 + 5·32 + 3·128 + 4 + 4) = 10,048, LoRA 8·(3·out + 4) summed = 12,512
        Assert.Equal(4L * 22_560, plan.LayerActivationBytes);
        // 2 layers + embedding output 512 + final norm 8·66 + the head fused with the loss (not adapted): one chunk of
        // logits 8·96 and the input's gradient 8·64
        Assert.Equal(4L * (2 * 22_560 + 512 + 528 + 1_280), plan.ActivationBytes);
        Assert.Equal(63_984 + 32_768 + 32_768 + 65_536 + 189_760, plan.TotalBytes);
    }

    [Fact]
    public void CheckpointingKeepsLayerInputsAndOneLayer()
    {
        var plan = MemoryPlan.For(Tiny, QLora with { GradientCheckpointing = true });
        // 2 layer inputs of 8 × 64 + one layer of 22,560 + the same outside part
        Assert.Equal(4L * (2 * 512 + 22_560 + 2_320), plan.ActivationBytes);
    }

    [Fact]
    public void FullFineTuningWith8bitStates()
    {
        var plan = MemoryPlan.For(Tiny, new PlanOptions { Method = AdapterMethod.None, Quantization = null, Seq = 8, Optimizer8bit = true });
        Assert.Equal(4L * 86_336, plan.WeightBytes);
        Assert.Equal(86_336, plan.TrainableParameters);
        Assert.Equal(0, plan.AdapterBytes);
        Assert.Equal(4L * 86_336, plan.GradientBytes);
        // ≥ 4,096 elements: 2·(n + 4·⌈n/256⌉) — embed/head 12,480 each, q/o 8,320, gate/up/down 16,640;
        // k, v (2,048) and the norms stay fp32 at 8 B each
        long perLayer = 2 * 8_320 + 3 * 16_640 + 8 * (2 * 2_048 + 128);
        Assert.Equal(2 * perLayer + 2 * 12_480 + 8 * 64, plan.OptimizerBytes);
        Assert.Equal(4L * (2 * 10_048 + 2_320), plan.ActivationBytes);
    }

    [Fact]
    public void Ia3DefaultsScaleKeyValueOutputsAndTheDownProjectionInput()
    {
        var plan = MemoryPlan.For(Tiny, new PlanOptions { Method = AdapterMethod.Ia3, Quantization = null, Seq = 8 });
        Assert.Equal(2 * (32 + 32 + 128), plan.TrainableParameters);
        Assert.Equal(2L * 86_336, plan.WeightBytes);                                   // frozen base in bf16
        Assert.Equal(4L * (10_048 + 8 * (32 + 32 + 128)), plan.LayerActivationBytes);
    }

    [Fact]
    public void QLoraOnAllLinearLayersOfLlama2With7BParameters()
    {
        var config = ModelConfig.Load(RepoPaths.Data("configs/Llama-2-7b-hf"));
        var plan = MemoryPlan.For(config, new PlanOptions { Rank = 16, Seq = 256, Quantization = new QuantOptions { DoubleQuant = true }, GradientCheckpointing = true });
        Assert.Equal(39_976_960, plan.TrainableParameters);                            // PEFT's count for r = 16 on all 7 projections
        var layout = ParameterLayout.For(config);
        long linear = layout.Parameters.Where(p => p.IsLinearWeight).Sum(p => p.Numel);
        Assert.Equal(linear / 2, plan.QuantizedCodeBytes);
        // MemoryEstimate.Nf4 counts the same codes and constants but no per-tensor offset, and norms in bf16
        long norms = layout.CountOf(ParameterGroup.Norms);
        Assert.Equal(MemoryEstimate.Nf4(layout) + 4 * 224 + 2 * norms, plan.WeightBytes);
        Assert.InRange(plan.WeightBytes / 1e9, 3.85, 3.9);
    }

    /// <summary>Polyglot-ko 5.8B and Gemma-2B are planned too; the adapter and optimiser parts follow from PEFT's counts.</summary>
    [Theory]
    [InlineData("polyglot-ko-5.8b")]
    [InlineData("gemma-2b")]
    public void EveryArchitectureIsPlanned(string name)
    {
        var config = ModelConfig.Load(RepoPaths.Data($"configs/{name}"));
        var plan = MemoryPlan.For(config, new PlanOptions { Rank = 8, Seq = 256, GradientCheckpointing = true });
        var peft = AdapterParameterCount.For(config, new LoraConfig { R = 8, TargetModules = TargetModules.AllLinear });
        Assert.Equal(peft.Trainable, plan.TrainableParameters);
        Assert.Equal(4 * peft.Trainable, plan.AdapterBytes);
        Assert.Equal(8 * peft.Trainable, plan.OptimizerBytes);
        Assert.True(plan.ActivationBytes > 0 && plan.WeightBytes > 0);
    }
}

/// <summary>Checks against the process: measured heap growth and the CLI (run alone, they read process-wide state).</summary>
[Collection("Console")]
public class MemoryPlanMeasuredTests
{
    /// <summary>
    /// The live heap after a LoRA forward and loss (graph kept for backward) grows by what the planner predicts for
    /// the layers, the embedding output, the final norm and the head fused with the loss (its chunk of logits, and
    /// with checkpointing the one recomputed layer, exist only while they are computed), to within 10% (Tensor
    /// objects, small arrays and closures are not counted by the plan).
    /// </summary>
    [Theory]
    [InlineData("llama", false)]
    [InlineData("llama", true)]
    [InlineData("gemma", false)]
    [InlineData("gpt_neox", false)]
    [InlineData("gpt_neox", true)]
    public void ActivationPredictionMatchesTheHeapGrowthOfAForward(string modelType, bool checkpointing)
    {
        var config = ModelConfig.Parse(modelType switch
        {
            "gpt_neox" => """{"model_type":"gpt_neox","hidden_size":256,"intermediate_size":512,"num_hidden_layers":3,"num_attention_heads":4,"vocab_size":500,"max_position_embeddings":128,"rotary_pct":0.25,"tie_word_embeddings":false,"hidden_act":"gelu"}""",
            "gemma" => """{"model_type":"gemma","hidden_size":256,"intermediate_size":512,"num_hidden_layers":3,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":64,"vocab_size":500,"max_position_embeddings":128}""",
            _ => """{"model_type":"llama","hidden_size":256,"intermediate_size":512,"num_hidden_layers":3,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":500,"max_position_embeddings":128,"tie_word_embeddings":false}""",
        }, modelType);
        var model = CausalLM.Create(config, WeightSources.Random(1));
        model.GradientCheckpointing = checkpointing;
        PeftModel.Create(model, new LoraConfig { R = 8, LoraAlpha = 16, TargetModules = TargetModules.AllLinear });
        var options = new PlanOptions { Method = AdapterMethod.Lora, Quantization = null, Rank = 8, Seq = 64, Batch = 2, GradientCheckpointing = checkpointing };
        var plan = MemoryPlan.For(config, options);
        // the head's chunk of logits, and with checkpointing the one recomputed layer, exist only during the loss / backward
        long expected = plan.ActivationBytes - 4L * 2 * 64 * 500 - (checkpointing ? plan.LayerActivationBytes : 0);

        var ids = Enumerable.Range(0, 128).Select(i => i * 7 % 500).ToArray();
        var targets = ids.Select(i => (i + 1) % 500).ToArray();
        Workbench.Engine.Tensor Loss() => model.HeadLoss(model.HiddenStates(ids, 2, 64).Reshape(128, -1), targets);
        Loss();   // warm-up: JIT, pooled GEMM buffers and lazy tables are not activations
        // the median growth of five forwards: the heap is the process's, and what other threads allocate or what
        // finalizers free while one forward is measured moves that trial either way
        var growths = new List<long>();
        Workbench.Engine.Tensor? loss = null;
        for (int trial = 0; trial < 5; trial++)
        {
            loss = null;   // the previous trial's graph goes before the measurement starts
            GC.Collect();
            GC.WaitForPendingFinalizers();
            long before = GC.GetTotalMemory(forceFullCollection: true);
            loss = Loss();
            long after = GC.GetTotalMemory(forceFullCollection: true);
            GC.KeepAlive(loss);
            growths.Add(after - before);
        }
        growths.Sort();
        Assert.InRange(growths[2], expected * 0.9, expected * 1.1);
    }

    [Fact]
    public void PlanCommandPrintsEveryPartAsJson()
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        using var stdout = new StringWriter();
        Console.SetOut(stdout);
        Console.SetError(new StringWriter());
        int code;
        try { code = Program.Build().Parse(["plan", Fixtures.PathOf("qlora/tiny-llama-bnb4"), "--method", "qlora", "--r", "4", "--seq", "8", "--double-quant", "--json"]).Invoke(); }
        finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout.ToString());
        var r = doc.RootElement;
        Assert.Equal("qlora", r.GetProperty("method").GetString());
        Assert.Equal(63_984, r.GetProperty("weights_bytes").GetInt64());
        Assert.Equal(32_768, r.GetProperty("adapter_bytes").GetInt64());
        Assert.Equal(32_768, r.GetProperty("gradient_bytes").GetInt64());
        Assert.Equal(65_536, r.GetProperty("optimizer_bytes").GetInt64());
        Assert.Equal(189_760, r.GetProperty("activation_bytes").GetInt64());
        Assert.Equal(384_816, r.GetProperty("total_bytes").GetInt64());
    }

    [Theory]
    [InlineData("--method", "dora")]
    [InlineData("--quant-type", "int4")]
    [InlineData("--seq", "0")]
    public void BadOptionsExitWithCode2(string option, string value)
    {
        var oldErr = Console.Error;
        Console.SetError(new StringWriter());
        try { Assert.Equal(2, Program.Build().Parse(["plan", Fixtures.PathOf("qlora/tiny-llama-bnb4"), option, value]).Invoke()); }
        finally { Console.SetError(oldErr); }
    }
}
