using Workbench.Data;
using Workbench.Data.Preferences;
using Workbench.Tokenizers;

namespace Workbench.Training.Preference;

/// <summary>
/// The pairs a preference run trains on: read from <c>data</c> in any of TRL's preference forms (conversations rendered by
/// the model's chat template when its <c>tokenizer_config.json</c> has one, else by the run's instruction template),
/// tokenised by TRL 0.28.0's length rules.
/// Pairs left with no target in the chosen or the rejected completion after truncation are dropped with a warning.
/// </summary>
public static class PreferenceData
{
    public static List<PreferenceExample> Load(TrainingConfig c, ITokenizer tokenizer, List<string>? warnings = null)
    {
        var pairs = Read(c.Data, c.Template, c.BaseModel, warnings);
        var options = EncodeOptions(c);
        var examples = new List<PreferenceExample>(pairs.Count);
        foreach (var pair in pairs)
        {
            var e = PreferenceEncoder.Encode(tokenizer, pair, options);
            if (e.Chosen.Labels.Skip(1).Any(l => l != TrainingExample.IgnoreIndex) && e.Rejected.Labels.Skip(1).Any(l => l != TrainingExample.IgnoreIndex))
                examples.Add(e);
            else warnings?.Add($"dropped {pair.Location}: no completion token left within max_length {c.MaxLength}");
        }
        if (examples.Count == 0) throw new TrainingConfigException($"data: {c.Data}: no trainable preference pairs (records: {pairs.Count})");
        return examples;
    }

    /// <summary>
    /// The pairs of a preference file as text; conversations rendered with the chat template beside
    /// <paramref name="modelDirectory"/>'s tokenizer, or with the instruction <paramref name="template"/>.
    /// </summary>
    public static List<PreferencePair> Read(string path, string template, string modelDirectory, List<string>? warnings = null)
    {
        IChatFormat chat;
        try { chat = TemplateChatFormat.For(modelDirectory, new InstructionChatFormat(PromptTemplates.Get(template))); }
        catch (Exception e) when (e is ArgumentException or FormatException) { throw new TrainingConfigException($"template: {e.Message}"); }
        if (!File.Exists(path)) throw new TrainingConfigException($"data: {path}: no such file");
        return PreferenceFile.Load(path, chat, warnings);
    }

    /// <summary>The run's length keys as encoder options (0 means no limit, TRL's None).</summary>
    public static PreferenceEncodeOptions EncodeOptions(TrainingConfig c) => new(c.MaxLength,
        c.MaxPromptLength > 0 ? c.MaxPromptLength : null, c.MaxCompletionLength > 0 ? c.MaxCompletionLength : null, c.TruncationMode);

    /// <summary>The loss the run's method and keys name.</summary>
    public static IPreferenceLoss Loss(TrainingConfig c) => c.Method switch
    {
        TrainingMethod.Dpo when c.LossType == DpoLossType.Ipo => new IpoLoss(c.Beta),
        TrainingMethod.Dpo => new DpoLoss(c.Beta, c.LabelSmoothing),
        TrainingMethod.Orpo => new OrpoLoss(c.Beta),
        _ => throw new ArgumentException($"method {c.Method} is not a preference method"),
    };
}
