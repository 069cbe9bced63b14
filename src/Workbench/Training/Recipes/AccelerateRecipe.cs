using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Adapters;
using Workbench.Data;
using Workbench.Formats;
using Workbench.Models;
using Workbench.Quantization;

namespace Workbench.Training.Recipes;

/// <summary>
/// A run config as a self-contained Hugging Face project that trains the same adapter on one or many GPUs:
/// <c>train.py</c> (transformers + PEFT + TRL, its settings in <c>recipe.json</c>), the data file, accelerate configs
/// for one GPU, multi-GPU DDP, FSDP full_shard and DeepSpeed ZeRO-3 with CPU offload, a torchrun launch script for
/// several nodes, and a README. The adapter it saves is a PEFT folder, which Workbench loads unchanged
/// (<c>wb eval fewshot BASE --adapter OUT/adapter</c>). <see cref="RecipeMappings"/> says where each key goes.
/// </summary>
public static class AccelerateRecipe
{
    private static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>What <see cref="OutputFolder"/> records a recipe folder as.</summary>
    public const string Kind = "recipe";

    /// <summary>The files written, relative to <paramref name="outDir"/>, a new folder (written whole, <see cref="OutputFolder"/>).</summary>
    public static IReadOnlyList<string> Write(TrainingConfig config, string outDir, string origin)
    {
        if (config.Quantization == QuantType.Int4)
            throw new TrainingConfigException($"{origin}: quantization: int4 has no bitsandbytes equivalent (use nf4, fp4 or int8)");
        var output = OutputFolder.Claim(outDir, Kind, force: false, config.Data, config.BaseModel);
        if (!File.Exists(config.Data)) throw new FileNotFoundException($"{origin}: data file '{config.Data}' does not exist", config.Data);
        var template = PromptTemplates.Get(config.Template);
        var layer = LayerClass(config.BaseModel);
        var dataName = Path.GetFileName(config.Data);

        var files = new Dictionary<string, string>
        {
            ["recipe.json"] = Settings(config, template, $"data/{dataName}", origin).ToJsonString(Pretty) + "\n",
            ["train.py"] = AccelerateFiles.TrainPy,
            ["requirements.txt"] = AccelerateFiles.Requirements,
            ["accelerate/single_gpu.yaml"] = AccelerateFiles.SingleGpu,
            ["accelerate/multi_gpu.yaml"] = AccelerateFiles.MultiGpu,
            ["accelerate/fsdp_full_shard.yaml"] = AccelerateFiles.Fsdp(layer),
            ["accelerate/deepspeed_zero3_offload.yaml"] = AccelerateFiles.DeepSpeedZero3(config.GradientAccumulationSteps, config.MaxGradNorm),
            ["launch_multinode.sh"] = AccelerateFiles.LaunchMultinode,
            ["README.md"] = AccelerateFiles.Readme(config, origin, layer),
        };
        output.Write(dir =>
        {
            Directory.CreateDirectory(Path.Combine(dir, "data"));
            File.Copy(config.Data, Path.Combine(dir, "data", dataName));
            foreach (var (name, text) in files)
            {
                var path = Path.Combine(dir, name);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, text);
            }
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(Path.Combine(dir, "launch_multinode.sh"), (UnixFileMode)0b111_101_101);
        });
        return [.. files.Keys.Append($"data/{dataName}").Order(StringComparer.Ordinal)];
    }

    /// <summary>recipe.json: every mapped value, named as the Python side uses it.</summary>
    private static JsonObject Settings(TrainingConfig c, PromptTemplate template, string data, string origin) => new()
    {
        ["source"] = Path.GetFullPath(origin),
        ["method"] = EnumSpelling.Name(c.Method),
        ["beta"] = c.Beta,
        ["loss_type"] = EnumSpelling.Name(c.LossType),
        ["label_smoothing"] = c.LabelSmoothing,
        ["max_prompt_length"] = c.MaxPromptLength,
        ["max_completion_length"] = c.MaxCompletionLength,
        ["truncation_mode"] = EnumSpelling.Name(c.TruncationMode),
        ["precompute_ref_log_probs"] = c.PrecomputeRefLogProbs,
        ["base_model"] = c.BaseModel,
        ["adapter"] = EnumSpelling.Name(c.Adapter),
        ["quantization"] = EnumSpelling.Name(c.Quantization),
        ["double_quant"] = c.DoubleQuant,
        ["torch_dtype"] = EnumSpelling.Name(c.TorchDtype),
        ["lora_r"] = c.LoraR,
        ["lora_alpha"] = c.LoraAlpha,
        ["lora_dropout"] = c.LoraDropout,
        ["target_modules"] = c.TargetModules is [TargetModules.AllLinearName] ? TargetModules.AllLinearName
            : c.TargetModules.Length == 0 ? null : new JsonArray(c.TargetModules.Select(m => (JsonNode?)m).ToArray()),
        ["data"] = data,
        ["template"] = new JsonArray(template.Variants.Select(v => (JsonNode?)v.Source).ToArray()),
        ["skip_bad_records"] = c.SkipBadRecords,
        ["max_length"] = c.MaxLength,
        ["packing"] = c.Packing,
        ["completion_only"] = c.CompletionOnly,
        ["micro_batch_size"] = c.MicroBatchSize,
        ["gradient_accumulation_steps"] = c.GradientAccumulationSteps,
        ["learning_rate"] = c.LearningRate,
        ["lr_scheduler_type"] = EnumSpelling.Name(c.LrSchedulerType),
        ["warmup_steps"] = c.WarmupSteps,
        ["warmup_ratio"] = c.WarmupRatio,
        ["max_steps"] = c.MaxSteps,
        ["num_train_epochs"] = c.NumTrainEpochs,
        ["max_grad_norm"] = c.MaxGradNorm,
        ["weight_decay"] = c.WeightDecay,
        ["gradient_checkpointing"] = c.GradientCheckpointing,
        ["seed"] = c.Seed,
        ["output_dir"] = string.IsNullOrEmpty(c.OutputDir) ? "out" : c.OutputDir,
        ["save_steps"] = c.SaveSteps,
        ["logging_steps"] = c.LoggingSteps,
    };

    /// <summary>The decoder layer class FSDP wraps, from the base's config.json (LlamaDecoderLayer when it cannot be read).</summary>
    private static string LayerClass(string baseModel)
    {
        if (!File.Exists(Path.Combine(baseModel, ModelConfig.FileName))) return "LlamaDecoderLayer";
        return ModelConfig.Load(baseModel).ModelType switch
        {
            "gpt_neox" => "GPTNeoXLayer",
            "gemma" => "GemmaDecoderLayer",
            _ => "LlamaDecoderLayer",
        };
    }
}
