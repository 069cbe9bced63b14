using Workbench.Tokenizers;

namespace Workbench.Data.Preferences;

/// <summary>TRL's <c>truncation_mode</c>: which end of an over-long prompt + completion survives <c>max_length</c>.</summary>
public enum TruncationMode { KeepEnd, KeepStart }

/// <summary>
/// TRL 0.28.0's length rules for preference data (DPOConfig): <paramref name="MaxPromptLength"/> keeps the prompt's last
/// tokens, <paramref name="MaxCompletionLength"/> each completion's first tokens (null: no limit), then prompt + completion
/// is cut to <paramref name="MaxLength"/>, keeping its end (<c>keep_end</c>, TRL's default) or its start.
/// </summary>
public sealed record PreferenceEncodeOptions(int MaxLength, int? MaxPromptLength = 512, int? MaxCompletionLength = null,
    TruncationMode Truncation = TruncationMode.KeepEnd);

/// <summary>
/// Tokenises a <see cref="PreferencePair"/> as TRL 0.28.0's <c>DPOTrainer.tokenize_row</c> and <c>concatenated_forward</c>
/// do for a decoder-only model: prompt, chosen and rejected encoded separately without special tokens, EOS appended to
/// each completion of plain text (not to a chat template's), the prompt cut to its last <c>max_prompt_length</c> tokens and
/// each completion to its first <c>max_completion_length</c>, then each sequence cut to <c>max_length</c> by the truncation
/// mode. Labels are −100 on the prompt, the token on the completion.
/// </summary>
public static class PreferenceEncoder
{
    public static PreferenceExample Encode(ITokenizer tokenizer, PreferencePair pair, PreferenceEncodeOptions options)
    {
        int[] prompt = tokenizer.Encode(pair.Prompt, addSpecialTokens: false);
        if (options.MaxPromptLength is int p && prompt.Length > p) prompt = prompt[^p..];
        return new PreferenceExample(Sequence(prompt, Completion(tokenizer, pair.Chosen, pair.AppendEos, options), options),
            Sequence(prompt, Completion(tokenizer, pair.Rejected, pair.AppendEos, options), options), pair.Location);
    }

    private static int[] Completion(ITokenizer tokenizer, string text, bool appendEos, PreferenceEncodeOptions options)
    {
        var ids = tokenizer.Encode(text, addSpecialTokens: false);
        if (appendEos) ids = [.. ids, tokenizer.EosId ?? throw new InvalidOperationException("preference data: the tokenizer has no EOS token to end the completions")];
        return options.MaxCompletionLength is int c && ids.Length > c ? ids[..c] : ids;
    }

    /// <summary>prompt + completion with completion-only labels, cut to max_length from the end the mode drops.</summary>
    private static TrainingExample Sequence(int[] prompt, int[] completion, PreferenceEncodeOptions options)
    {
        int[] ids = [.. prompt, .. completion];
        int[] labels = [.. Enumerable.Repeat(TrainingExample.IgnoreIndex, prompt.Length), .. completion];
        if (ids.Length > options.MaxLength)
        {
            int from = options.Truncation == TruncationMode.KeepEnd ? ids.Length - options.MaxLength : 0;
            (ids, labels) = (ids[from..(from + options.MaxLength)], labels[from..(from + options.MaxLength)]);
        }
        return new TrainingExample(ids, labels);
    }
}
