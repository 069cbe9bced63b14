using System.CommandLine;
using System.Text.Json.Nodes;
using Workbench.Adapters;
using Workbench.Models;
using Workbench.Quantization;
using Workbench.Training;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb plan CONFIG --method qlora|lora|ia3|full [--r 16] [--seq 512] [--batch 1] [--quant-type nf4] [--double-quant]
/// [--gradient-checkpointing] [--optim-8bit] [--json]</c>: the memory a training step needs, by part (see <see cref="MemoryPlan"/>).
/// </summary>
public static class PlanCommand
{
    public static Command Build()
    {
        var config = new Argument<string>("config") { Description = "A model directory or config.json" };
        var method = new Option<string>("--method") { Description = "qlora, lora, ia3 or full", DefaultValueFactory = _ => "qlora" };
        var rank = new Option<int>("--r") { Description = "LoRA rank", DefaultValueFactory = _ => 16 };
        var seq = new Option<int>("--seq") { DefaultValueFactory = _ => 512 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 1 };
        var targets = new Option<string?>("--targets") { Description = "comma-separated module names (default: all linear layers; IA3: k_proj,v_proj,down_proj)" };
        var quantType = new Option<string>("--quant-type") { Description = "nf4 or fp4 (qlora)", DefaultValueFactory = _ => "nf4" };
        var doubleQuant = new Option<bool>("--double-quant") { Description = "double-quantise the 4-bit absmax (qlora)" };
        var checkpointing = new Option<bool>("--gradient-checkpointing") { Description = "keep only layer inputs, recompute in backward" };
        var optim8bit = new Option<bool>("--optim-8bit") { Description = "AdamW states in 8 bits (adamw_8bit)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var cmd = new Command("plan", "Predict the memory of a training step: weights, adapters, gradients, optimiser states, activations")
        {
            config, method, rank, seq, batch, targets, quantType, doubleQuant, checkpointing, optim8bit, json,
        };
        cmd.SetAction(pr =>
        {
            var path = pr.GetValue(config)!;
            if (!Directory.Exists(path) && !File.Exists(path)) return CliOutput.Fail($"{path}: no such file or directory");
            (AdapterMethod Method, bool Quantized) m;
            try { m = RunMethod.Parse(pr.GetValue(method)!); }
            catch (ArgumentException) { return CliOutput.Fail($"plan: unknown --method '{pr.GetValue(method)}' ({string.Join(", ", RunMethod.Names)})"); }
            if (pr.GetValue(quantType) is not ("nf4" or "fp4")) return CliOutput.Fail($"plan: --quant-type must be nf4 or fp4, not '{pr.GetValue(quantType)}'");
            if (pr.GetValue(rank) <= 0 || pr.GetValue(seq) <= 0 || pr.GetValue(batch) <= 0) return CliOutput.Fail("plan: --r, --seq and --batch must be positive");
            ModelConfig modelConfig;
            MemoryPlan plan;
            var options = new PlanOptions
            {
                Method = m.Method, Rank = pr.GetValue(rank), Seq = pr.GetValue(seq), Batch = pr.GetValue(batch),
                Targets = pr.GetValue(targets)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Quantization = m.Quantized ? new QuantOptions { Type = QuantTypes.Parse(pr.GetValue(quantType)!), DoubleQuant = pr.GetValue(doubleQuant) } : null,
                GradientCheckpointing = pr.GetValue(checkpointing), Optimizer8bit = pr.GetValue(optim8bit),
            };
            try
            {
                modelConfig = ModelConfig.Load(path);
                plan = MemoryPlan.For(modelConfig, options);
            }
            catch (Exception e) when (e is FormatException or IOException or NotSupportedException) { return CliOutput.Fail(e.Message); }
            var report = Report(plan, options);
            if (pr.GetValue(json)) CliOutput.WriteJson(report);
            else foreach (var (k, v) in report) Console.WriteLine($"{k,-28} {(v is JsonValue jv && jv.TryGetValue<long>(out var bytes) && k.EndsWith("bytes") ? $"{bytes:N0}  ({bytes / (double)(1 << 30):F2} GiB)" : v?.ToJsonString())}");
            return 0;
        });
        return cmd;
    }

    /// <summary>The plan as flat JSON: every part in bytes, and the settings it was made for.</summary>
    public static JsonObject Report(MemoryPlan plan, PlanOptions o) => new()
    {
        ["method"] = RunMethod.Name(o.Method, o.Quantization is not null),
        ["r"] = o.Rank,
        ["seq"] = o.Seq,
        ["batch"] = o.Batch,
        ["gradient_checkpointing"] = o.GradientCheckpointing,
        ["quant_type"] = o.Quantization?.Type.Name(),
        ["double_quant"] = o.Quantization?.DoubleQuant,
        ["optimizer"] = o.Optimizer8bit ? "adamw_8bit" : "adamw",
        ["parameters"] = plan.Parameters,
        ["trainable_parameters"] = plan.TrainableParameters,
        ["weights_bytes"] = plan.WeightBytes,
        ["quantized_codes_bytes"] = plan.QuantizedCodeBytes,
        ["quantization_constants_bytes"] = plan.QuantizationConstantBytes,
        ["adapter_bytes"] = plan.AdapterBytes,
        ["gradient_bytes"] = plan.GradientBytes,
        ["optimizer_bytes"] = plan.OptimizerBytes,
        ["activation_bytes"] = plan.ActivationBytes,
        ["layer_activation_bytes"] = plan.LayerActivationBytes,
        ["total_bytes"] = plan.TotalBytes,
    };
}
