using System.Text;
using Workbench.Models;
using Workbench.Tests.Support;

namespace Workbench.Tests.Evaluation;

/// <summary>
/// A deterministic fake causal LM over <see cref="ByteTokenizer"/> ids whose logits the test controls. At each
/// position it finds the last <see cref="Marker"/> in the bytes so far; <paramref name="answerFor"/> (given the text
/// before it) names the answer it "wants" to write after it. While the bytes after the marker are a prefix of that
/// answer, the next planned byte gets logit <see cref="Peak"/> and every other id 0; otherwise (or with no answer)
/// all logits are 0, a uniform distribution over the 259 ids. Its KV cache holds the ids each row has seen, and an
/// attention mask hides padding.
/// </summary>
public sealed class ScriptedLM(Func<string, string?> answerFor, int maxPositions = 4096) : ICausalLM
{
    public const string Marker = "감정:";
    public const float Peak = 5f;
    public const int Vocab = 259;

    /// <summary>log p of the planned byte and of any other byte.</summary>
    public static readonly double High = Peak - Math.Log(Math.Exp(Peak) + Vocab - 1), Low = -Math.Log(Math.Exp(Peak) + Vocab - 1),
        Uniform = -Math.Log(Vocab);

    static readonly byte[] MarkerBytes = Encoding.UTF8.GetBytes(Marker);

    public ModelConfig Config { get; } = ModelConfig.Load(RepoPaths.Data("models/stories260K/config.json")) with { VocabSize = Vocab, MaxPositions = maxPositions };
    public int Forwards { get; private set; }

    public IKvCache NewCache(int batch) => new SeenIds(batch);

    public float[] Logits(int[] ids, int batch, int seq, IKvCache? cache = null, int[]? attentionMask = null, int[]? rows = null)
    {
        Forwards++;
        var seen = (SeenIds?)cache;
        int past = seen?.Length ?? 0;
        var logits = new float[batch * seq * Vocab];
        for (int b = 0; b < batch; b++)
        {
            var history = seen?.Rows[b] ?? [];
            history.RemoveRange(past, history.Count - past);   // a rewound cache forgets the later tokens
            for (int t = 0; t < seq; t++)
            {
                bool real = attentionMask is null || attentionMask[b * (past + seq) + past + t] != 0;
                history.Add((ids[b * seq + t], real));
                if (real && Next(history.Where(h => h.Real).Select(h => h.Id).ToArray()) is int next) logits[(b * seq + t) * Vocab + next] = Peak;
            }
        }
        if (seen is not null) seen.Length += seq;
        return rows is null ? logits : rows.SelectMany(r => logits.AsSpan(r * Vocab, Vocab).ToArray()).ToArray();
    }

    /// <summary>The ids each row has seen, with whether each was a token (1 in the mask) or padding.</summary>
    sealed class SeenIds(int batch) : IKvCache
    {
        public List<(int Id, bool Real)>[] Rows { get; } = Enumerable.Range(0, batch).Select(_ => new List<(int, bool)>()).ToArray();
        public int Batch => batch;
        public int Length { get; set; }
        public void Rewind(int length) => Length = length;
    }

    int? Next(ReadOnlySpan<int> prefix)
    {
        var bytes = prefix.ToArray().Where(i => i < 256).Select(i => (byte)i).ToArray();
        int at = bytes.AsSpan().LastIndexOf(MarkerBytes);
        if (at < 0 || answerFor(Encoding.UTF8.GetString(bytes, 0, at)) is not { } answer) return null;
        var planned = Encoding.UTF8.GetBytes(answer);
        var written = bytes.AsSpan(at + MarkerBytes.Length);
        return written.Length < planned.Length && planned.AsSpan().StartsWith(written) ? planned[written.Length] : null;
    }
}
