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
/// all logits are 0, a uniform distribution over the 259 ids.
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

    public Tensor Forward(int[] ids, int batch, int seq)
    {
        Forwards++;
        var logits = new float[batch * seq * Vocab];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < seq; t++)
                if (Next(ids.AsSpan(b * seq, t + 1)) is int next) logits[(b * seq + t) * Vocab + next] = Peak;
        return Tensor.FromArray(logits, batch, seq, Vocab);
    }

    public Tensor Forward(int[] ids, int batch, int seq, KvCache? cache, int[]? attentionMask = null) =>
        cache is null && attentionMask is null ? Forward(ids, batch, seq) : throw new NotSupportedException("ScriptedLM has no KV cache or padding mask");

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
