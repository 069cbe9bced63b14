using Workbench.Data;
using Workbench.Data.Preferences;
using Workbench.Generation;
using Workbench.Models;
using Workbench.Tokenizers;

namespace Workbench.Training.Preference;

/// <summary>How <see cref="PreferenceBuilder"/> makes pairs.</summary>
/// <param name="DedupThreshold">Prompts whose estimated Jaccard similarity (character <paramref name="NGram"/>s) to an earlier prompt reaches this are dropped; above 1 keeps all.</param>
/// <param name="Limit">Use the first N records after deduplication (0: all).</param>
public sealed record PreferenceBuildOptions(int MaxNewTokens = 32, bool Greedy = true, float Temperature = 1f, int TopK = 50, float TopP = 1f,
    int Seed = 0, double DedupThreshold = 0.8, int NGram = 5, int BatchSize = 16, int Limit = 0);

/// <summary>
/// What a build did: records read, prompts dropped as near-duplicates, pairs skipped because the model gave the dataset's
/// answer or nothing at all, pairs kept.
/// </summary>
public sealed record PreferenceBuildReport(int Records, int NearDuplicates, int Identical, int EmptyAnswers, int Pairs, double GenerationSeconds);

/// <summary>
/// Preference pairs from supervised data, as the PEFT/RLHF overview builds a DPO set: each record's prompt (rendered by
/// the instruction template), the dataset's answer as <c>chosen</c> and the model's own answer (greedy or sampled, up to
/// EOS or <c>max_new_tokens</c>) as <c>rejected</c>. Prompts are near-deduplicated first (<see cref="MinHash"/>); pairs
/// whose two answers are the same text (ignoring surrounding spaces), or whose model answer is empty, are skipped.
/// </summary>
public static class PreferenceBuilder
{
    public static (List<PreferencePair> Pairs, PreferenceBuildReport Report) Build(ICausalLM model, ITokenizer tokenizer,
        IReadOnlyList<InstructionRecord> records, PromptTemplate template, PreferenceBuildOptions options, Action<int, int>? progress = null)
    {
        var rendered = records.Select(template.Apply).ToList();
        var (kept, duplicates) = new MinHash(options.NGram).Deduplicate(rendered.Select(r => r.Prompt).ToList(), options.DedupThreshold);
        if (options.Limit > 0 && kept.Count > options.Limit) kept = kept.Take(options.Limit).ToList();
        var generation = new GenerationOptions
        {
            MaxNewTokens = options.MaxNewTokens, Greedy = options.Greedy, Temperature = options.Temperature, TopK = options.TopK, TopP = options.TopP,
            Seed = options.Seed, EosIds = tokenizer.EosId is int eos ? [eos] : [], PadId = tokenizer.PadId ?? tokenizer.EosId ?? 0,
        };
        var pairs = new List<PreferencePair>();
        int identical = 0, empty = 0;
        double seconds = 0;
        for (int start = 0; start < kept.Count; start += options.BatchSize)
        {
            var batch = kept.Skip(start).Take(options.BatchSize).ToList();
            var result = Generator.Generate(model, batch.Select(i => tokenizer.Encode(rendered[i].Prompt, addSpecialTokens: true)).ToList(),
                generation with { Seed = options.Seed + start });
            seconds += result.Seconds;
            for (int j = 0; j < batch.Count; j++)
            {
                var record = records[batch[j]];
                string answer = tokenizer.Decode(result.Tokens[j].Where(t => t != tokenizer.EosId), skipSpecialTokens: true);
                if (answer.Trim().Length == 0) { empty++; continue; }
                if (answer.Trim() == rendered[batch[j]].Completion.Trim()) { identical++; continue; }
                pairs.Add(new PreferencePair(rendered[batch[j]].Prompt, rendered[batch[j]].Completion, answer, record.Source, record.Line));
            }
            progress?.Invoke(Math.Min(start + options.BatchSize, kept.Count), kept.Count);
        }
        return (pairs, new PreferenceBuildReport(records.Count, duplicates.Count, identical, empty, pairs.Count, seconds));
    }
}
