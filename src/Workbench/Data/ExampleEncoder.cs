using Workbench.Tokenizers;

namespace Workbench.Data;

/// <summary>How prompt/completion pairs become training sequences.</summary>
/// <param name="MaxLength">Sequences are cut on the right to this many tokens (the end of the completion goes first).</param>
/// <param name="CompletionOnly">Loss on completion tokens only (prompt labels −100); false trains on every token.</param>
/// <param name="AppendEos">Append the tokenizer's EOS after the completion unless the completion already ends with it.</param>
public sealed record EncodeOptions(int MaxLength, bool CompletionOnly = true, bool AppendEos = true);

/// <summary>
/// Tokenises a <see cref="PromptPair"/>: the prompt with the tokenizer's default special tokens (a BOS for
/// Llama-style tokenizers, nothing for GPT-NeoX/Polyglot), the completion without. Prompt and completion are
/// encoded separately, so the prompt/completion boundary — where the label mask starts — is exact, whatever
/// merges a joint encoding would make across it (the templates put the answer's leading space in the
/// completion so both encodings agree for byte-level BPE).
/// </summary>
public static class ExampleEncoder
{
    public static TrainingExample Encode(ITokenizer tokenizer, PromptPair pair, EncodeOptions options)
    {
        if (options.MaxLength <= 0) throw new ArgumentException($"EncodeOptions.MaxLength must be positive, got {options.MaxLength}");
        int[] prompt = tokenizer.Encode(pair.Prompt, addSpecialTokens: true);
        var completion = new List<int>(tokenizer.Encode(pair.Completion, addSpecialTokens: false));
        if (options.AppendEos)
        {
            int eos = tokenizer.EosId ?? throw new InvalidOperationException("EncodeOptions.AppendEos is set but the tokenizer has no EOS token");
            int last = completion.Count > 0 ? completion[^1] : prompt.Length > 0 ? prompt[^1] : -1;
            if (last != eos) completion.Add(eos);
        }

        int n = Math.Min(prompt.Length + completion.Count, options.MaxLength);
        var ids = new int[n];
        var labels = new int[n];
        for (int t = 0; t < n; t++)
        {
            bool inPrompt = t < prompt.Length;
            ids[t] = inPrompt ? prompt[t] : completion[t - prompt.Length];
            labels[t] = inPrompt && options.CompletionOnly ? TrainingExample.IgnoreIndex : ids[t];
        }
        return new TrainingExample(ids, labels);
    }

    /// <summary>
    /// Applies the template and encodes every record. Examples left with no target (the prompt alone filled
    /// <c>MaxLength</c>) teach nothing and are dropped; their locations are added to <paramref name="dropped"/>.
    /// </summary>
    public static List<TrainingExample> EncodeAll(ITokenizer tokenizer, PromptTemplate template, IEnumerable<InstructionRecord> records,
        EncodeOptions options, List<string>? dropped = null)
    {
        var examples = new List<TrainingExample>();
        foreach (var r in records)
        {
            var ex = Encode(tokenizer, template.Apply(r), options);
            if (ex.TargetCount > 0) examples.Add(ex);
            else dropped?.Add(r.Location);
        }
        return examples;
    }
}
