using Workbench.Adapters;
using Workbench.Data;
using Workbench.Engine.Nn;
using Workbench.Models;
using Workbench.Tokenizers;

namespace Workbench.Training;

/// <summary>
/// A run assembled from its config: base model and tokenizer from <c>base_model</c>, the adapter added,
/// examples loaded and encoded, and a <see cref="Trainer"/> ready (resumed when a checkpoint is given).
/// </summary>
public sealed class TrainingRun
{
    public TrainingConfig Config { get; }
    public ICausalLM Model { get; }
    public ITokenizer Tokenizer { get; }
    public IReadOnlyList<TrainingExample> Examples { get; }
    public IReadOnlyList<string> AdaptedModules { get; }
    /// <summary>The adapter being trained (null for a full fine-tune); <see cref="SaveAdapter"/> writes it in PEFT's format.</summary>
    public PeftModel? Peft { get; }
    public IReadOnlyList<string> Warnings { get; }
    public Trainer Trainer { get; }
    /// <summary>The checkpoint resumed from, or null.</summary>
    public string? ResumedFrom { get; }

    private TrainingRun(TrainingConfig config, ICausalLM model, ITokenizer tokenizer, List<TrainingExample> examples,
        PeftModel? peft, List<string> warnings, Trainer trainer, string? resumedFrom)
    {
        Config = config; Model = model; Tokenizer = tokenizer; Examples = examples; Peft = peft;
        AdaptedModules = peft?.Layers().Select(l => l.Path).ToList() ?? [];
        Warnings = warnings; Trainer = trainer; ResumedFrom = resumedFrom;
    }

    /// <summary>
    /// Writes the trained adapter as PEFT does (<c>adapter_config.json</c> + <c>adapter_model.safetensors</c>, atomically)
    /// into the output folder, with base_model_name_or_path set; returns the files written (none for a full fine-tune).
    /// </summary>
    public IReadOnlyList<string> SaveAdapter() => Peft is null ? [] : PeftFormat.Save(Peft, Config.OutputDir);

    /// <param name="resume">null, <c>latest</c>, or a checkpoint folder.</param>
    public static TrainingRun Create(TrainingConfig config, string? resume = null)
    {
        config.Validate();
        var model = TrainingModel.LoadBase(config);
        ITokenizer tokenizer;
        try { tokenizer = Tokenizers.Tokenizer.Load(config.BaseModel); }
        catch (FileNotFoundException e) { throw new TrainingConfigException($"base_model: {e.Message}"); }
        var warnings = new List<string>();
        var examples = TrainingData.Load(config, tokenizer, warnings);
        var peft = TrainingModel.Prepare((Module)model, config);
        var trainer = new Trainer(config, model, examples, TrainingData.PadId(tokenizer)) { AdapterRuntime = peft?.Runtime };
        string? from = null;
        if (resume is not null)
        {
            from = TrainerCheckpoint.Resolve(resume, config.OutputDir);
            trainer.Resume(TrainerCheckpoint.Load(from));
        }
        return new TrainingRun(config, model, tokenizer, examples, peft, warnings, trainer, from);
    }
}
