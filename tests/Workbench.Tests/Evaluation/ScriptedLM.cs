using System.Runtime.CompilerServices;
using System.Text;
using Workbench.Engine;
using Workbench.Models;
using Workbench.Tests.Support;

namespace Workbench.Tests.Evaluation;

/// <summary>
/// A deterministic fake causal LM over <see cref="ByteTokenizer"/> ids whose logits the test controls. At each
/// position it finds the last <see cref="Marker"/> in the bytes so far; <paramref name="answerFor"/> (given the text
/// before it) names the answer it "wants" to write after it. While the bytes after the marker are a prefix of that
/// answer, the next planned byte gets logit <see cref="Peak"/> and every other id 0; otherwise (or with no answer)
/// all logits are 0, a uniform distribution over the 259 ids. Its hidden states are those logits (the head is the
/// identity); a KV cache stands for the ids it has seen.
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
    public bool GradientCheckpointing { get; set; }
    public int Forwards { get; private set; }

    public Tensor Forward(int[] ids, int batch, int seq) => Forward(ids, batch, seq, null);

    public Tensor Forward(int[] ids, int batch, int seq, KvCache? cache, int[]? attentionMask = null) =>
        HiddenStates(ids, batch, seq, cache, attentionMask);

    public Tensor HiddenStates(int[] ids, int batch, int seq, KvCache? cache = null, int[]? attentionMask = null)
    {
        if (attentionMask is not null || (cache is not null && batch != 1)) throw new NotSupportedException("ScriptedLM has no padding mask or batched cache");
        Forwards++;
        List<int> seen = cache is null ? [] : Seen.GetOrCreateValue(cache);
        if (cache is not null) seen.RemoveRange(cache.Length, seen.Count - cache.Length);   // rewound
        var logits = new float[batch * seq * Vocab];
        for (int b = 0; b < batch; b++)
        {
            var prefix = new List<int>(seen);
            for (int t = 0; t < seq; t++)
            {
                prefix.Add(ids[b * seq + t]);
                if (Next(prefix.ToArray()) is int next) logits[(b * seq + t) * Vocab + next] = Peak;
            }
            if (cache is not null) { seen.Clear(); seen.AddRange(prefix); cache.Advance(seq); }
        }
        return Tensor.FromArray(logits, batch, seq, Vocab);
    }

    public Tensor LmHead(Tensor hidden) => hidden;

    static readonly ConditionalWeakTable<KvCache, List<int>> Seen = new();

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
