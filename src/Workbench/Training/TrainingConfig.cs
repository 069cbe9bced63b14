using System.ComponentModel;
using Workbench.Adapters;
using Workbench.Data.Preferences;
using Workbench.Quantization;

namespace Workbench.Training;

/// <summary>transformers' <c>torch_dtype</c> for the frozen base: the file's dtype (auto) or a conversion.</summary>
public enum BaseDType { Auto, Float32, Bfloat16, Float16 }

/// <summary>transformers' <c>lr_scheduler_type</c> values we implement.</summary>
public enum LrSchedulerType { Constant, Linear, Cosine }

/// <summary>What a run optimises: the next-token loss on instruction data, or a preference loss on chosen/rejected pairs.</summary>
public enum TrainingMethod { Sft, Dpo, Orpo }

/// <summary>TRL's DPO <c>loss_type</c> values we implement.</summary>
public enum DpoLossType { Sigmoid, Ipo }

/// <summary>
/// One flat record of every training knob, named as Hugging Face's TrainingArguments / PEFT configs name them
/// (snake_case in YAML, JSON and <c>--kebab-case</c> CLI flags; see <see cref="TrainingConfigLoader"/>).
/// Paths are relative to the working directory. Everything else (total steps, warmup steps) is derived.
/// </summary>
public sealed record TrainingConfig
{
    [Description("sft (instruction data), dpo or orpo (preference pairs: prompt/chosen/rejected, TRL's formats)")]
    public TrainingMethod Method { get; init; } = TrainingMethod.Sft;

    [Description("base model directory: config.json, model.safetensors and a tokenizer")]
    public string BaseModel { get; init; } = "";

    [Description("lora, ia3 or none (full fine-tuning)")]
    public AdapterMethod Adapter { get; init; } = AdapterMethod.Lora;

    [Description("frozen base quantised to nf4 or fp4 (4-bit, QLoRA), int4 or int8; none keeps the file dtype")]
    public QuantType? Quantization { get; init; }

    [Description("auto (the file's), float32, bfloat16 or float16: how an adapter's frozen base is held (a full fine-tune trains float32)")]
    public BaseDType TorchDtype { get; init; } = BaseDType.Auto;

    [Description("double-quantise the 4-bit block constants (QLoRA)")]
    public bool DoubleQuant { get; init; }

    [Description("compute backend: managed (the C# engine) or torch (libtorch through TorchSharp)")]
    public string Backend { get; init; } = "managed";

    [Description("cpu, or cuda / cuda:N with the torch backend")]
    public string Device { get; init; } = "cpu";

    [Description("LoRA rank r")]
    public int LoraR { get; init; } = 8;

    [Description("LoRA alpha (scaling alpha/r)")]
    public float LoraAlpha { get; init; } = 16;

    [Description("dropout on the adapter input")]
    public float LoraDropout { get; init; }

    [Description("module names to adapt (comma-separated), or all-linear; empty: the method's PEFT defaults for the model type")]
    public string[] TargetModules { get; init; } = [];

    [Description("instruction data (sft) or preference pairs (dpo, orpo): a JSON array or JSONL file")]
    public string Data { get; init; } = "";

    [Description("prompt template: alpaca, koalpaca, ia3-seed, or a format with {field}s and the split marker {|} (dpo/orpo: for conversations when the model has no chat template)")]
    public string Template { get; init; } = "alpaca";

    [Description("skip malformed records (warning) instead of failing")]
    public bool SkipBadRecords { get; init; }

    [Description("tokens per sequence (truncation; block size when packing)")]
    public int MaxLength { get; init; } = 256;

    [Description("concatenate examples into blocks of max_length")]
    public bool Packing { get; init; }

    [Description("loss on completion tokens only")]
    public bool CompletionOnly { get; init; } = true;

    [Description("dpo/orpo: the prompt keeps its last N tokens (TRL 0.28.0 max_prompt_length); 0: no limit")]
    public int MaxPromptLength { get; init; } = 512;

    [Description("dpo/orpo: each completion keeps its first N tokens; 0: no limit")]
    public int MaxCompletionLength { get; init; }

    [Description("dpo/orpo: keep_end or keep_start, which end of prompt + completion survives max_length")]
    public TruncationMode TruncationMode { get; init; } = TruncationMode.KeepEnd;

    [Description("dpo: β, how far the policy may move from the reference (IPO's τ); orpo: λ, the weight of the odds-ratio term")]
    public double Beta { get; init; } = 0.1;

    [Description("dpo: sigmoid (the DPO paper's loss) or ipo")]
    public DpoLossType LossType { get; init; } = DpoLossType.Sigmoid;

    [Description("dpo sigmoid: ε, the assumed probability that a preference label is flipped (conservative DPO)")]
    public double LabelSmoothing { get; init; }

    [Description("dpo: compute the reference log-probs once before training instead of a reference forward every step")]
    public bool PrecomputeRefLogProbs { get; init; }

    [Description("sequences per micro-batch")]
    public int MicroBatchSize { get; init; } = 4;

    [Description("micro-batches per optimizer step")]
    public int GradientAccumulationSteps { get; init; } = 1;

    [Description("peak learning rate")]
    public double LearningRate { get; init; } = 2e-4;

    [Description("constant, linear or cosine (each with linear warmup)")]
    public LrSchedulerType LrSchedulerType { get; init; } = LrSchedulerType.Linear;

    [Description("warmup optimizer steps (overrides warmup_ratio when > 0)")]
    public int WarmupSteps { get; init; }

    [Description("warmup as a fraction of the total steps (ceil)")]
    public double WarmupRatio { get; init; }

    [Description("optimizer steps; > 0 overrides num_train_epochs")]
    public int MaxSteps { get; init; } = -1;

    [Description("passes over the data when max_steps <= 0")]
    public double NumTrainEpochs { get; init; } = 1;

    [Description("clip the global gradient norm to this (<= 0: no clipping)")]
    public double MaxGradNorm { get; init; } = 1.0;

    [Description("AdamW decoupled weight decay (not applied to biases and norm weights)")]
    public double WeightDecay { get; init; }

    [Description("recompute each layer's activations in backward")]
    public bool GradientCheckpointing { get; init; }

    [Description("seed for adapter initialisation and data order")]
    public int Seed { get; init; } = 42;

    [Description("where checkpoints, train_log.jsonl and train_summary.json go")]
    public string OutputDir { get; init; } = "";

    [Description("save a checkpoint every N optimizer steps (0: only at the end)")]
    public int SaveSteps { get; init; }

    [Description("log every N optimizer steps")]
    public int LoggingSteps { get; init; } = 1;

    /// <summary>Checks ranges and relations; throws <see cref="TrainingConfigException"/> naming the key in <paramref name="origin"/>.</summary>
    public TrainingConfig Validate(string origin = "config") => Validate(key => $"{origin}: {key}");

    /// <summary>
    /// Checks ranges and relations; <paramref name="name"/> says where a key's value came from in the error ("run.yaml:
    /// lora_r", or "--lora-r" for a flag).
    /// </summary>
    public TrainingConfig Validate(Func<string, string> name)
    {
        void Require(bool ok, string key, string message)
        {
            if (!ok) throw new TrainingConfigException($"{name(key)}: {message}");
        }
        Require(BaseModel.Length > 0, "base_model", "is required");
        Require(Data.Length > 0, "data", "is required");
        Require(Quantization is null || Adapter != AdapterMethod.None, "quantization",
            "needs an adapter: a quantised base is frozen, so a full fine-tune has nothing to train");
        Require(Adapter != AdapterMethod.None || TorchDtype is BaseDType.Auto or BaseDType.Float32, "torch_dtype",
            "must be auto or float32 for a full fine-tune: trained weights are float32");
        Require(OutputDir.Length > 0, "output_dir", "is required");
        Require(LoraR > 0, "lora_r", $"must be positive, got {LoraR}");
        Require(LoraDropout is >= 0 and < 1, "lora_dropout", $"must be in [0, 1), got {LoraDropout}");
        Require(MaxLength > 1, "max_length", $"must be at least 2, got {MaxLength}");
        Require(MicroBatchSize > 0, "micro_batch_size", $"must be positive, got {MicroBatchSize}");
        Require(GradientAccumulationSteps > 0, "gradient_accumulation_steps", $"must be positive, got {GradientAccumulationSteps}");
        Require(LearningRate >= 0 && double.IsFinite(LearningRate), "learning_rate", $"must be finite and >= 0, got {LearningRate}");
        Require(WarmupSteps >= 0, "warmup_steps", $"must be >= 0, got {WarmupSteps}");
        Require(WarmupRatio is >= 0 and <= 1, "warmup_ratio", $"must be in [0, 1], got {WarmupRatio}");
        Require(MaxSteps > 0 || NumTrainEpochs > 0, "num_train_epochs", $"must be positive when max_steps <= 0, got {NumTrainEpochs}");
        Require(WeightDecay >= 0, "weight_decay", $"must be >= 0, got {WeightDecay}");
        Require(SaveSteps >= 0, "save_steps", $"must be >= 0, got {SaveSteps}");
        Require(LoggingSteps > 0, "logging_steps", $"must be positive, got {LoggingSteps}");
        Require(MaxPromptLength >= 0, "max_prompt_length", $"must be >= 0, got {MaxPromptLength}");
        Require(MaxCompletionLength >= 0, "max_completion_length", $"must be >= 0, got {MaxCompletionLength}");
        Require(Beta > 0 && double.IsFinite(Beta), "beta", $"must be positive, got {Beta}");
        Require(LabelSmoothing is >= 0 and < 0.5, "label_smoothing", $"must be in [0, 0.5), got {LabelSmoothing}");
        Require(Method == TrainingMethod.Sft || !Packing, "packing", "applies to sft only: preference pairs are not packed");
        Require(Method != TrainingMethod.Dpo || Adapter != AdapterMethod.None || PrecomputeRefLogProbs, "precompute_ref_log_probs",
            "must be true for dpo with adapter none: the reference is the base with the adapter disabled, and a full fine-tune has none");
        return this;
    }
}

/// <summary>A configuration value or file that cannot be used; the message names the file or flag and the key.</summary>
public sealed class TrainingConfigException(string message) : Exception(message);
