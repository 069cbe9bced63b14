using System.Diagnostics;
using Workbench.Models;

namespace Workbench.Generation;

/// <summary>The new tokens of each prompt (EOS kept), why each row stopped, and the time taken.</summary>
public sealed record GenerationResult(int[][] Tokens, StopReason[] Reasons, double Seconds)
{
    public int NewTokens => Tokens.Sum(t => t.Length);
    public double TokensPerSecond => Seconds > 0 ? NewTokens / Seconds : 0;
}

public enum StopReason { MaxNewTokens, Eos, StopString, MaxPositions }

/// <summary>
/// Autoregressive decoding with a KV cache: the prompts (left-padded to one length, padding masked out and
/// positions counted from each row's first token) go through the model once, then one token per row per step.
/// Finished rows are fed <see cref="GenerationOptions.PadId"/> until every row is done, as transformers does.
/// </summary>
public static class Generator
{
    /// <param name="decode">new ids of a row → text; needed for stop strings.</param>
    /// <param name="onToken">called with (row, token) as each new token is chosen (streaming).</param>
    public static GenerationResult Generate(ICausalLM model, IReadOnlyList<int[]> prompts, GenerationOptions options,
        Func<IReadOnlyList<int>, string>? decode = null, Action<int, int>? onToken = null)
    {
        options.Validate();
        if (prompts.Count == 0 || prompts.Any(p => p.Length == 0)) throw new ArgumentException("Generate: every prompt needs at least one token", nameof(prompts));
        if (options.StopStrings.Count > 0 && decode is null) throw new ArgumentException("Generate: stop strings need a decode function", nameof(decode));
        int batch = prompts.Count, length = prompts.Max(p => p.Length), vocab = model.Config.VocabSize;
        int room = model.Config.MaxPositions - length;
        if (room < 0) throw new ArgumentException($"Generate: a prompt of {length} tokens exceeds the model's {model.Config.MaxPositions} positions", nameof(prompts));

        var watch = Stopwatch.StartNew();
        var (ids, mask) = LeftPad(prompts, length, options.PadId);
        var cache = model.NewCache(batch);
        var generated = Enumerable.Range(0, batch).Select(_ => new List<int>()).ToArray();
        var reasons = Enumerable.Repeat(StopReason.MaxNewTokens, batch).ToArray();
        var done = new bool[batch];
        var rng = new Random(options.Seed);

        // each row's last position: the logits of its next token
        var logits = model.Logits(ids, batch, length, cache, mask, LastPositions(batch, length));   // (B, V)
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            if (step == room) { for (int b = 0; b < batch; b++) if (!done[b]) (done[b], reasons[b]) = (true, StopReason.MaxPositions); break; }
            var next = new int[batch];
            for (int b = 0; b < batch; b++)
            {
                if (done[b]) { next[b] = options.PadId; continue; }
                var row = logits.AsSpan(b * vocab, vocab);
                next[b] = Choose(row, prompts[b].Concat(generated[b]), options, rng);
                generated[b].Add(next[b]);
                onToken?.Invoke(b, next[b]);
                if (options.EosIds.Contains(next[b])) (done[b], reasons[b]) = (true, StopReason.Eos);
                else if (options.StopStrings.Count > 0 && decode!(generated[b]) is var text && options.StopStrings.Any(text.Contains))
                    (done[b], reasons[b]) = (true, StopReason.StopString);
            }
            if (done.All(d => d) || step == options.MaxNewTokens - 1) break;
            if (mask is not null) mask = Extend(mask, batch);
            logits = model.Logits(next, batch, 1, cache, mask);                     // (B, V)
        }
        return new GenerationResult(generated.Select(g => g.ToArray()).ToArray(), reasons, watch.Elapsed.TotalSeconds);
    }

    /// <summary>Repetition penalty, then greedy argmax or temperature → top-k → top-p → sample.</summary>
    public static int Choose(ReadOnlySpan<float> logits, IEnumerable<int> previous, GenerationOptions options, Random rng)
    {
        var scores = logits.ToArray();
        LogitsProcessing.RepetitionPenalty(scores, previous, options.RepetitionPenalty);
        if (options.Greedy) return LogitsProcessing.ArgMax(scores);
        LogitsProcessing.Temperature(scores, options.Temperature);
        LogitsProcessing.TopK(scores, options.TopK);
        LogitsProcessing.TopP(scores, options.TopP);
        return LogitsProcessing.Sample(scores, rng);
    }

    /// <summary>The flat index b·T + T − 1 of every row's last position.</summary>
    private static int[] LastPositions(int batch, int length) => Enumerable.Range(0, batch).Select(b => b * length + length - 1).ToArray();

    /// <summary>ids [B, T] with shorter prompts padded on the left; the mask [B, T] (null when no row is padded).</summary>
    private static (int[] Ids, int[]? Mask) LeftPad(IReadOnlyList<int[]> prompts, int length, int padId)
    {
        var ids = new int[prompts.Count * length];
        var mask = new int[ids.Length];
        for (int b = 0; b < prompts.Count; b++)
        {
            int pad = length - prompts[b].Length;
            ids.AsSpan(b * length, pad).Fill(padId);
            prompts[b].CopyTo(ids, b * length + pad);
            mask.AsSpan(b * length + pad, prompts[b].Length).Fill(1);
        }
        return (ids, prompts.All(p => p.Length == length) ? null : mask);
    }

    /// <summary>mask [B, S] → [B, S + 1] with a 1 appended to every row (the token just fed).</summary>
    private static int[] Extend(int[] mask, int batch)
    {
        int s = mask.Length / batch;
        var extended = new int[batch * (s + 1)];
        for (int b = 0; b < batch; b++)
        {
            mask.AsSpan(b * s, s).CopyTo(extended.AsSpan(b * (s + 1)));
            extended[b * (s + 1) + s] = 1;
        }
        return extended;
    }
}
