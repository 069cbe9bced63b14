using LLama;
using LLama.Common;
using LLama.Native;

namespace Workbench.Tests.Support;

/// <summary>
/// A GGUF file opened in llama.cpp through LLamaSharp 0.30.0 (CPU backend, llama.cpp c0c7e147): its tokenizer, the
/// logits of every position of a sequence, greedy decoding through its own KV cache. The KV cache is kept in F32 and
/// flash attention is off (on the CPU it rounds through F16), so that an F32 export is compared with F32 arithmetic.
/// </summary>
public sealed class LlamaCpp : IDisposable
{
    private static readonly object NativeSetup = new();
    private static bool _configured;
    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;

    public LlamaCpp(string ggufPath, int contextSize = 256)
    {
        lock (NativeSetup)
            if (!_configured)
            {
                // llama.cpp logs every load to stderr; tests keep errors only
                NativeLibraryConfig.All.WithLogCallback((level, message) => { if (level >= LLamaLogLevel.Error) Console.Error.Write(message); });
                _configured = true;
            }
        var p = new ModelParams(ggufPath)
        {
            ContextSize = (uint)contextSize, BatchSize = (uint)contextSize, UBatchSize = (uint)contextSize, GpuLayerCount = 0,
            TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32, Threads = 2, FlashAttention = false,
        };
        _weights = LLamaWeights.LoadFromFile(p);
        _context = _weights.CreateContext(p);
    }

    /// <summary>llama.cpp's ids for <paramref name="text"/>; <paramref name="special"/> parses special tokens' text as those tokens.</summary>
    public int[] Tokenize(string text, bool addBos, bool special = false) => _context.Tokenize(text, addBos, special).Select(t => (int)t).ToArray();

    /// <summary>Logits after each of <paramref name="ids"/>, one forward over the whole sequence: [T][V].</summary>
    public float[][] Logits(int[] ids)
    {
        _context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        for (int i = 0; i < ids.Length; i++) batch.Add((LLamaToken)ids[i], i, LLamaSeqId.Zero, true);
        Decode(batch);
        return Enumerable.Range(0, ids.Length).Select(i => _context.NativeHandle.GetLogitsIth(i).ToArray()).ToArray();
    }

    /// <summary>Greedy decoding: the prompt in one batch, then one token at a time through llama.cpp's KV cache.</summary>
    public int[] Greedy(int[] prompt, int newTokens)
    {
        _context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Length; i++) batch.Add((LLamaToken)prompt[i], i, LLamaSeqId.Zero, i == prompt.Length - 1);
        Decode(batch);
        var result = new int[newTokens];
        for (int step = 0; step < newTokens; step++)
        {
            result[step] = ArgMax(_context.NativeHandle.GetLogitsIth(batch.TokenCount - 1));
            batch.Clear();
            batch.Add((LLamaToken)result[step], prompt.Length + step, LLamaSeqId.Zero, true);
            Decode(batch);
        }
        return result;
    }

    public static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private void Decode(LLamaBatch batch)
    {
        var result = _context.NativeHandle.Decode(batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode returned {result}");
    }

    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }
}
