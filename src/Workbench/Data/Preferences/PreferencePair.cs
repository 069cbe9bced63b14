namespace Workbench.Data.Preferences;

/// <summary>
/// One preference example as text, TRL's standard form: the <c>prompt</c>, the <c>chosen</c> and the <c>rejected</c>
/// completions (conversational records are rendered to this form when read), and where it came from, so later stages
/// can name the file and line. <see cref="AppendEos"/>: the completions are plain text and get the tokenizer's EOS (TRL
/// appends none to completions a chat template rendered: the template writes its own end of turn).
/// </summary>
public sealed record PreferencePair(string Prompt, string Chosen, string Rejected, string Source, int Line, bool AppendEos = true)
{
    public string Location => $"{Source}:{Line}";
}

/// <summary>A tokenised pair: prompt + chosen and prompt + rejected, each with completion-only labels (prompt −100).</summary>
public sealed record PreferenceExample(TrainingExample Chosen, TrainingExample Rejected, string Location);
