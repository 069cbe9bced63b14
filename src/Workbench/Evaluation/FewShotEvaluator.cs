using System.Diagnostics;
using Workbench.Data.FewShot;
using Workbench.Models;
using Workbench.Tokenizers;

namespace Workbench.Evaluation;

/// <summary>How a few-shot answer is read off the model.</summary>
public enum FewShotScoring
{
    /// <summary>Greedy decoding after the context, compared with the verbalisers (the seed notebook's way).</summary>
    Generate,
    /// <summary>lm-eval multiple choice: the choice whose continuation has the highest summed log-likelihood.</summary>
    LogLikelihood,
}

/// <summary>
/// Scores <see cref="FewShotItem"/>s with a causal LM. Contexts are encoded with the tokenizer's special tokens (as
/// <c>tokenizer(prompt)</c> in the seed); a choice's continuation tokens are those of <c>context + " 긍정"</c> past
/// the context's own (lm-eval's split). Inputs longer than the model's positions keep their end (left
/// truncation) and are counted. Shapes: T tokens, V vocabulary.
/// </summary>
public sealed class FewShotEvaluator(ICausalLM model, ITokenizer tokenizer)
{
    public ICausalLM Model { get; } = model;
    public ITokenizer Tokenizer { get; } = tokenizer;

    /// <summary>Called after each item with (items done, items in all).</summary>
    public Action<int, int>? Progress { get; init; }

    /// <summary>Items scored together by <see cref="FewShotScoring.LogLikelihood"/>, right-padded into one batch.</summary>
    public int BatchSize { get; init; } = 8;

    public FewShotResult Evaluate(FewShotTask task, string prompt, IReadOnlyList<FewShotItem> items, FewShotScoring scoring)
    {
        var wall = Stopwatch.StartNew();
        var results = new List<FewShotItemResult>(items.Count);
        for (int start = 0; start < items.Count; start += scoring == FewShotScoring.Generate ? 1 : BatchSize)
        {
            var batch = items.Skip(start).Take(scoring == FewShotScoring.Generate ? 1 : BatchSize).ToList();
            results.AddRange(scoring == FewShotScoring.Generate ? [Generate(batch[0])] : LogLikelihood(batch));
            Progress?.Invoke(results.Count, items.Count);
        }
        return FewShotResult.From(task, prompt, scoring, items.Count == 0 ? [] : items[0].Choices, results, wall.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Greedy decoding: the argmax of the last position's logits, appended and repeated (with a KV cache, so each
    /// step runs one token), for at most as many tokens as the longest choice continuation takes; stops at EOS, at a
    /// newline, or as soon as the answer (leading whitespace trimmed) is decided: it starts with a verbaliser, or is no
    /// longer the start of any (what follows cannot change the outcome). No verbaliser at its start → invalid
    /// (Predicted = null).
    /// </summary>
    public FewShotItemResult Generate(FewShotItem item)
    {
        var clock = Stopwatch.StartNew();
        int budget = item.Continuations.Max(c => ContinuationIds(item.Context, c).Length);
        var input = Tokenizer.Encode(item.Context, addSpecialTokens: true);
        int keep = Math.Max(1, Model.Config.MaxPositions - budget);
        bool truncated = input.Length > keep;
        if (truncated) input = input[^keep..];

        var cache = Model.NewCache(1);
        var generated = new List<int>();
        long tokens = 0;
        string answer = "";
        for (int step = 0; step < budget; step++)
        {
            var logits = Model.Logits(input, 1, input.Length, cache, rows: [input.Length - 1]);                // (1, V): the last position
            tokens += input.Length;
            int next = ArgMax(logits);
            if (next == Tokenizer.EosId) break;
            generated.Add(next);
            input = [next];
            answer = Tokenizer.Decode(generated, skipSpecialTokens: true);
            int newline = answer.IndexOf('\n');
            if (newline >= 0) { answer = answer[..newline]; break; }
            // decided: a verbaliser is written, or the text so far (an unfinished UTF-8 sequence aside) starts none
            string sofar = answer.TrimStart().TrimEnd('\uFFFD');
            if (item.Choices.Any(c => sofar.StartsWith(c, StringComparison.Ordinal)) || !item.Choices.Any(c => c.StartsWith(sofar, StringComparison.Ordinal))) break;
        }
        answer = answer.Trim();
        string? predicted = item.Choices.FirstOrDefault(c => answer.StartsWith(c, StringComparison.Ordinal));
        return new FewShotItemResult(item.Index, item.Gold, predicted, answer, null, null, truncated, tokens, clock.Elapsed.TotalMilliseconds);
    }

    /// <summary>
    /// Σⱼ log p(contⱼ | context, cont&lt;ⱼ) for each choice; the prediction is the argmax, and the length-normalised
    /// prediction (acc_norm) the argmax of that sum divided by the choice's character length.
    /// </summary>
    public FewShotItemResult LogLikelihood(FewShotItem item) => LogLikelihood([item])[0];

    /// <summary>
    /// <see cref="LogLikelihood(FewShotItem)"/> for several items in one batch. A choice's input is its item's context
    /// and all but the last continuation token; the inputs of one item share their start (the context), which runs
    /// once: the items' shared starts right-padded into [B, T] with a KV cache, then each choice's own tokens
    /// [B, O] after them, the cache rewound to T between choices. An attention mask hides the padding and gives each
    /// row its own positions. Only positions that predict a target go through the head.
    /// </summary>
    public IReadOnlyList<FewShotItemResult> LogLikelihood(IReadOnlyList<FewShotItem> items)
    {
        var clock = Stopwatch.StartNew();
        int maxPositions = Model.Config.MaxPositions, pad = Tokenizer.PadId ?? Tokenizer.EosId ?? 0, batch = items.Count;
        var requests = items.Select(item => item.Continuations.Select(c =>
        {
            var whole = Tokenizer.Encode(item.Context + c, addSpecialTokens: true);
            int contLength = ContinuationIds(item.Context, c).Length;
            // lm-eval: (context + continuation)[-(max_length + 1):][:-1] is the input
            var input = whole[Math.Max(0, whole.Length - 1 - maxPositions)..^1];
            return (Input: input, Targets: whole[^contLength..], Truncated: whole.Length - 1 > maxPositions);
        }).ToList()).ToList();
        var shared = requests.Select(r => CommonPrefixLength(r.Select(c => c.Input).ToList())).ToArray();
        // the logits at input position p predict the token after it: positions [first, shared) serve some choice
        var first = requests.Select((r, b) => Math.Min(shared[b], r.Min(c => c.Input.Length - c.Targets.Length))).ToArray();
        var tokens = new long[batch];

        int t = shared.Max(), v = Model.Config.VocabSize;
        var cache = Model.NewCache(batch);
        var mask = new int[batch * t];                                                         // [B, T]: 1 token, 0 padding
        var sharedRow = new Dictionary<(int B, int P), int>();                                // (row, position) → logits row
        float[]? sharedLogits = null;                                                          // (N, V)
        if (t > 0)
        {
            var ids = new int[batch * t];
            Array.Fill(ids, pad);
            for (int b = 0; b < batch; b++)
            {
                requests[b][0].Input.AsSpan(0, shared[b]).CopyTo(ids.AsSpan(b * t));
                mask.AsSpan(b * t, shared[b]).Fill(1);
                tokens[b] += shared[b];
            }
            var rows = new List<int>();
            for (int b = 0; b < batch; b++)
                for (int p = first[b]; p < shared[b]; p++) { sharedRow[(b, p)] = rows.Count; rows.Add(b * t + p); }
            sharedLogits = Model.Logits(ids, batch, t, cache, mask, [.. rows]);
        }

        var scores = requests.Select(r => new double[r.Count]).ToArray();
        for (int c = 0; c < requests.Max(r => r.Count); c++)
        {
            int own = requests.Select((r, b) => c < r.Count ? r[c].Input.Length - shared[b] : 0).Max();
            float[]? ownLogits = null;                                                         // (B, O, V)
            if (own > 0)
            {
                cache.Rewind(t);
                var ids = new int[batch * own];
                var ownMask = new int[batch * (t + own)];                                      // [B, T + O]
                Array.Fill(ids, pad);
                for (int b = 0; b < batch; b++)
                {
                    mask.AsSpan(b * t, t).CopyTo(ownMask.AsSpan(b * (t + own)));
                    if (c >= requests[b].Count) continue;
                    var rest = requests[b][c].Input.AsSpan(shared[b]);
                    rest.CopyTo(ids.AsSpan(b * own));
                    ownMask.AsSpan(b * (t + own) + t, rest.Length).Fill(1);
                    tokens[b] += rest.Length;
                }
                ownLogits = Model.Logits(ids, batch, own, cache, ownMask);
            }
            for (int b = 0; b < batch; b++)
            {
                if (c >= requests[b].Count) continue;
                var (input, targets, _) = requests[b][c];
                double sum = 0;
                for (int j = 0; j < targets.Length; j++)
                {
                    int p = input.Length - targets.Length + j;
                    var (logits, row) = p < shared[b] ? (sharedLogits!, sharedRow[(b, p)]) : (ownLogits!, b * own + p - shared[b]);
                    sum += LogProb(logits.AsSpan(row * v, v), targets[j]);
                }
                scores[b][c] = sum;
            }
        }

        double ms = clock.Elapsed.TotalMilliseconds / Math.Max(1, batch);                     // the batch's time, shared
        return items.Select((item, b) =>
        {
            int best = ArgMax(scores[b]), bestNorm = ArgMax(scores[b].Select((s, i) => s / item.Choices[i].Length).ToArray());
            return new FewShotItemResult(item.Index, item.Gold, item.Choices[best], item.Choices[best], scores[b], item.Choices[bestNorm],
                requests[b].Any(r => r.Truncated), tokens[b], ms);
        }).ToList();
    }

    /// <summary>How many leading tokens all the sequences have in common.</summary>
    private static int CommonPrefixLength(IReadOnlyList<int[]> sequences)
    {
        int n = sequences.Min(s => s.Length);
        for (int i = 0; i < n; i++)
            if (sequences.Any(s => s[i] != sequences[0][i])) return i;
        return n;
    }

    /// <summary>lm-eval's split: the tokens of context + continuation past the context's own count (at least one).</summary>
    public int[] ContinuationIds(string context, string continuation)
    {
        int contextLength = Tokenizer.Encode(context, addSpecialTokens: true).Length;
        var whole = Tokenizer.Encode(context + continuation, addSpecialTokens: true);
        if (whole.Length <= contextLength)
            throw new InvalidOperationException($"continuation '{continuation}' adds no tokens to the context (context {contextLength} tokens, with it {whole.Length})");
        return whole[contextLength..];
    }

    /// <summary>log softmax(x)[target] = x[target] − (max + log Σ exp(x − max)).</summary>
    private static double LogProb(ReadOnlySpan<float> logits, int target)
    {
        float max = float.NegativeInfinity;
        foreach (float x in logits) max = Math.Max(max, x);
        double sum = 0;
        foreach (float x in logits) sum += Math.Exp(x - max);
        return logits[target] - (max + Math.Log(sum));
    }

    /// <summary>The first index of the largest value.</summary>
    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    private static int ArgMax(double[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
