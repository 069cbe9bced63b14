using Workbench.Engine;

namespace Workbench.Models;

/// <summary>
/// What every attention layer of one forward call shares: the rotary position of each new token, the additive
/// padding mask and the KV cache. Positions follow transformers' generate(): without a mask, past + t; with an
/// attention mask [B, S] (1 token, 0 left padding), cumsum(mask) − 1 per row (padding set to 1), so a left-padded
/// row starts at position 0. The mask becomes −∞ on padded keys, [B, 1, 1, S]; causality is SDPA's (query i of T
/// sees keys j ≤ i + S − T).
/// </summary>
public sealed class AttentionContext
{
    /// <summary>[T] shared by every row, or [B·T] when a mask gives each row its own offsets.</summary>
    public int[] Positions { get; }
    /// <summary>Additive [B, 1, 1, S] (0 or −∞), or null when nothing is padded.</summary>
    public Tensor? Mask { get; }
    public KvCache? Cache { get; }

    private AttentionContext(int[] positions, Tensor? mask, KvCache? cache) => (Positions, Mask, Cache) = (positions, mask, cache);

    public static AttentionContext Create(int batch, int seq, KvCache? cache, int[]? attentionMask)
    {
        int past = cache?.Length ?? 0, total = past + seq;
        if (cache is not null && cache.Batch != batch)
            throw new ShapeException("AttentionContext", $"a cache for batch {cache.Batch} used with batch {batch}");
        if (attentionMask is null) return new(Enumerable.Range(past, seq).ToArray(), null, cache);
        if (attentionMask.Length != batch * total)
            throw new ShapeException("AttentionContext", $"attention mask has {attentionMask.Length} entries, expected [B, past + T] = [{batch}, {total}]");

        var positions = new int[batch * seq];
        var mask = new float[batch * total];                            // [B, 1, 1, S]
        for (int b = 0; b < batch; b++)
        {
            int seen = 0;
            for (int j = 0; j < total; j++)
            {
                bool token = attentionMask[b * total + j] != 0;
                seen += token ? 1 : 0;
                // position = cumsum(mask) − 1, padding → 1 (transformers' prepare_inputs_for_generation)
                if (j >= past) positions[b * seq + j - past] = token ? seen - 1 : 1;
                mask[b * total + j] = token ? 0f : float.NegativeInfinity;
            }
        }
        return new(positions, Tensor.FromArray(mask, batch, 1, 1, total), cache);
    }

    /// <summary>
    /// softmax(scale·q·kᵀ + mask)·v over the cached and new keys of one layer: q [B, Hq, T, D], k and v [B, Hkv, T, D]
    /// (appended to the cache first) → [B, Hq, T, D].
    /// </summary>
    public Tensor Attend(int layer, Tensor q, Tensor k, Tensor v, float? scale = null)
    {
        if (Cache is not null) (k, v) = Cache.Append(layer, k, v);       // [B, Hkv, S, D]
        return Ops.ScaledDotProductAttention(q, k, v, causal: true, mask: Mask, scale: scale);
    }
}
