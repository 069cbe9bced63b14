using Workbench.Adapters;
using Workbench.Backends;
using Workbench.Data;
using Workbench.Data.Preferences;
using Workbench.Engine;
using Workbench.Formats;
using Workbench.Models;
using Workbench.Quantization;
using Workbench.Tokenizers;
using Workbench.Training.Preference;

namespace Workbench.Training;

/// <summary>
/// A run assembled from its config: the tokenizer from <c>base_model</c>, examples (or preference pairs) loaded and
/// encoded, the base model prepared for training by a compute backend, and a <see cref="Trainer"/> ready with the
/// method's objective (resumed when a checkpoint is given).
/// </summary>
public sealed class TrainingRun
{
    public TrainingConfig Config { get; }
    public ITrainableLM Model { get; }
    public ITokenizer Tokenizer { get; }
    /// <summary>The fine-tuning sequences (none for a preference run).</summary>
    public IReadOnlyList<TrainingExample> Examples { get; }
    /// <summary>The preference pairs of a dpo or orpo run (none for fine-tuning).</summary>
    public IReadOnlyList<PreferenceExample> Pairs { get; }
    public IReadOnlyList<string> AdaptedModules => Model.AdaptedModules;
    public IReadOnlyList<string> Warnings { get; }
    public Trainer Trainer { get; }
    /// <summary>The checkpoint resumed from, or null.</summary>
    public string? ResumedFrom { get; }

    private TrainingRun(TrainingConfig config, ITrainableLM model, ITokenizer tokenizer, List<TrainingExample> examples,
        List<PreferenceExample> pairs, List<string> warnings, Trainer trainer, string? resumedFrom)
    {
        Config = config; Model = model; Tokenizer = tokenizer; Examples = examples; Pairs = pairs;
        Warnings = warnings; Trainer = trainer; ResumedFrom = resumedFrom;
    }

    /// <summary>
    /// Writes the trained adapter as PEFT does (<c>adapter_config.json</c> + <c>adapter_model.safetensors</c>, atomically)
    /// into the output folder, with base_model_name_or_path set; returns the files written (none for a full fine-tune).
    /// </summary>
    public IReadOnlyList<string> SaveAdapter() => Model.SaveAdapter(Config.OutputDir);

    /// <summary>What <see cref="OutputFolder"/> records a run's output_dir as.</summary>
    public const string Kind = "training-run";

    /// <param name="resume">null, <c>latest</c>, or a checkpoint folder.</param>
    /// <param name="backend">the compute backend (null: the one the config's <c>backend</c> names).</param>
    public static TrainingRun Create(TrainingConfig config, string? resume = null, IComputeBackend? backend = null)
    {
        config.Validate();
        var output = ClaimOutput(config, resume);
        if (!Directory.Exists(config.BaseModel)) throw new TrainingConfigException($"base_model: {config.BaseModel}: no such directory");
        ITokenizer tokenizer;
        try { tokenizer = Tokenizers.Tokenizer.Load(config.BaseModel); }
        catch (FileNotFoundException e) { throw new TrainingConfigException($"base_model: {e.Message}"); }
        try { ModelConfig.Load(config.BaseModel).CheckTokenizer(tokenizer.VocabSize, config.BaseModel); }
        catch (ModelConfigException e) { throw new TrainingConfigException($"base_model: {e.Message}"); }
        var warnings = new List<string>();
        bool preference = config.Method != TrainingMethod.Sft;
        var examples = preference ? [] : TrainingData.Load(config, tokenizer, warnings);
        var pairs = preference ? PreferenceData.Load(config, tokenizer, warnings) : [];
        var model = Prepare(backend ?? Backend(config), config);
        Trainer trainer;
        if (!preference) trainer = new Trainer(config, model, examples, TrainingData.PadId(tokenizer));
        else
        {
            var objective = new PreferenceObjective(pairs, PreferenceData.Loss(config), config.MicroBatchSize, TrainingData.PadId(tokenizer), config.Seed);
            if (config.PrecomputeRefLogProbs) objective.PrecomputeReference(model);   // before a resume loads trained weights
            trainer = new Trainer(config, model, objective);
        }
        output?.Create();
        string? from = null;
        if (resume is not null)
        {
            from = TrainerCheckpoint.Resolve(resume, config.OutputDir);
            trainer.Resume(TrainerCheckpoint.Load(from));
        }
        return new TrainingRun(config, model, tokenizer, examples, pairs, warnings, trainer, from);
    }

    /// <summary>
    /// A new run needs a new or empty output_dir: checkpoints of two runs in one folder would mix, and <c>--resume
    /// latest</c> would pick the other run's. Resuming continues in the run's own folder. Null when resuming.
    /// </summary>
    private static OutputFolder? ClaimOutput(TrainingConfig c, string? resume)
    {
        if (resume is not null) return null;
        if (Directory.Exists(c.OutputDir) && Directory.EnumerateFileSystemEntries(c.OutputDir).Any())
            throw new TrainingConfigException($"output_dir: {c.OutputDir} is not empty; continue the run there with --resume latest, or choose a new output_dir");
        try { return OutputFolder.Claim(c.OutputDir, Kind, force: false, c.BaseModel, c.Data); }
        catch (OutputRefusedException e) { throw new TrainingConfigException($"output_dir: {e.Message}"); }
    }

    private static IComputeBackend Backend(TrainingConfig c)
    {
        try { return ComputeBackends.Get(c.Backend); }
        catch (ArgumentException e) { throw new TrainingConfigException($"backend: {e.Message}"); }
    }

    /// <summary>The base model as the run config says, made trainable by the configured method.</summary>
    private static ITrainableLM Prepare(IComputeBackend backend, TrainingConfig c)
    {
        try { return backend.LoadForTraining(c.BaseModel, Setup(c)); }
        catch (Exception e) when (e is FileNotFoundException or NotSupportedException or ModelConfigException or FormatException)
        {
            throw new TrainingConfigException($"base_model: {e.Message}");
        }
        catch (ArgumentException e) { throw new TrainingConfigException($"target_modules: {e.Message}"); }
        catch (BackendUnavailableException e) { throw new TrainingConfigException($"backend: {e.Message}"); }
    }

    /// <summary>
    /// The run config's model keys as a backend setup: the adapter's PEFT config, the base's dtype (torch_dtype; the
    /// file's by default) and quantisation (QLoRA's 4-bit, or 8-bit).
    /// </summary>
    public static TrainingSetup Setup(TrainingConfig c) => new()
    {
        Adapter = AdapterMethods.Get(c.Adapter)?.Create(new AdapterOptions
        {
            BaseModelNameOrPath = c.BaseModel, TargetModules = TargetModules.FromList(c.TargetModules), R = c.LoraR, Alpha = c.LoraAlpha, Dropout = c.LoraDropout,
        }),
        BaseDType = c.TorchDtype switch
        {
            BaseDType.Float32 => DType.F32,
            BaseDType.Bfloat16 => DType.BF16,
            BaseDType.Float16 => DType.F16,
            _ => null,
        },
        Quantization = c.Quantization is { } q ? new QuantOptions { Type = q, DoubleQuant = c.DoubleQuant } : null,
        Seed = c.Seed,
        WeightDecay = c.WeightDecay,
        Device = c.Device,
    };
}
