namespace Workbench.Models;

/// <summary>
/// The inference face of a causal language model: what few-shot evaluation, perplexity and generation call. It is one
/// half of the backend seam (<c>docs/architecture.md</c>): values cross it as plain arrays, so a second compute
/// backend implements it over its own tensors and those loops run on it unchanged. No gradient is recorded.
/// </summary>
public interface ICausalLM
{
    ModelConfig Config { get; }

    /// <summary>An empty key/value cache for <paramref name="batch"/> rows, for this model only.</summary>
    IKvCache NewCache(int batch);

    /// <summary>
    /// ids [B, T] following the <c>cache.Length</c> tokens already in <paramref name="cache"/> (if any) → the logits of
    /// the positions <paramref name="rows"/> (flat indices b·T + t; null: all B·T in order), [rows, V] row-major. The
    /// step's keys and values are appended to the cache. <paramref name="attentionMask"/> [B, cache.Length + T] marks
    /// tokens 1 and padding 0. Asking only for the rows a caller reads skips the head for the rest (the head is the
    /// largest matrix of a small model).
    /// </summary>
    float[] Logits(int[] ids, int batch, int seq, IKvCache? cache = null, int[]? attentionMask = null, int[]? rows = null);
}

/// <summary>The keys and values a model has seen, held by the backend that made it (<see cref="ICausalLM.NewCache"/>).</summary>
public interface IKvCache
{
    int Batch { get; }

    /// <summary>Tokens cached so far: the next call's first position (before padding offsets).</summary>
    int Length { get; }

    /// <summary>Forgets every token after the first <paramref name="length"/> (scoring several continuations of one context).</summary>
    void Rewind(int length);
}
