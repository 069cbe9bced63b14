using TorchSharp;
using Workbench.Engine;
using Workbench.Models;
using static TorchSharp.torch;

namespace Workbench.Torch.Models;

/// <summary>
/// Rotary tables on the device: angle[p, i] = p · inv_freq_i in float32 (inv_freq from the engine's
/// <see cref="RopeCache"/>, rope_scaling applied), cos and sin of it, [maxPositions, rotaryDim/2].
/// </summary>
public sealed class TorchRope : IDisposable
{
    private readonly Tensor cos, sin;
    public int HeadDim { get; }
    public int RotaryDim { get; }

    public TorchRope(ModelConfig c, Device device)
    {
        var host = new RopeCache(c.HeadDim, c.RotaryDim, (float)c.RopeTheta, c.MaxPositions, c.RopeScaling);
        (HeadDim, RotaryDim) = (c.HeadDim, c.RotaryDim);
        using var scope = NewDisposeScope();
        var angle = outer(arange(c.MaxPositions, ScalarType.Float32), tensor(host.InverseFrequencies));
        cos = angle.cos().to(device).DetachFromDisposeScope();
        sin = angle.sin().to(device).DetachFromDisposeScope();
    }

    /// <summary>
    /// x [B, H, T, D] rotated at positions [B, T] (rotate-half convention) on its first rotaryDim features:
    /// y₁ = x₁·cos − x₂·sin, y₂ = x₂·cos + x₁·sin; the rest pass through.
    /// </summary>
    public Tensor Apply(Tensor x, Tensor positions)
    {
        using var scope = NewDisposeScope();
        long b = positions.shape[0], t = positions.shape[1], half = RotaryDim / 2;
        var c = cos.index_select(0, positions.reshape(-1)).reshape(b, 1, t, half);       // (B, 1, T, D/2)
        var s = sin.index_select(0, positions.reshape(-1)).reshape(b, 1, t, half);
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var parts = new List<Tensor> { x1 * c - x2 * s, x2 * c + x1 * s };
        if (RotaryDim < HeadDim) parts.Add(x.narrow(-1, RotaryDim, HeadDim - RotaryDim));
        return cat(parts, -1).MoveToOuterDisposeScope();
    }

    public void Dispose() { cos.Dispose(); sin.Dispose(); }
}

/// <summary>
/// What every attention layer of one forward shares: positions [B, T], the additive mask and the KV cache. Positions
/// follow transformers' generate(): past + t without a mask; with an attention mask [B, S] (1 token, 0 padding),
/// cumsum(mask) − 1 with padding set to 1. The mask [B, 1, T, S] allows key j for query i when j ≤ past + i and
/// key j is a token; blocked entries get float32's lowest value rather than −∞, so a row of padding stays finite.
/// </summary>
public sealed class TorchAttentionContext : IDisposable
{
    public Tensor Positions { get; }
    /// <summary>Null when plain causal attention over the new tokens is all that is needed.</summary>
    public Tensor? Mask { get; }
    public TorchKvCache? Cache { get; }

    public TorchAttentionContext(int batch, int seq, TorchKvCache? cache, int[]? attentionMask, Device device)
    {
        int past = cache?.Length ?? 0, total = past + seq;
        if (cache is not null && cache.Batch != batch)
            throw new ShapeException("TorchAttentionContext", $"a cache for batch {cache.Batch} used with batch {batch}");
        Cache = cache;
        using var scope = NewDisposeScope();
        if (attentionMask is null)
        {
            Positions = arange(past, total, ScalarType.Int64, device).expand(batch, seq).contiguous().DetachFromDisposeScope();
            if (past > 0 && seq > 1) Mask = Additive(ones(batch, total, ScalarType.Bool, device), past, seq).DetachFromDisposeScope();
            return;
        }
        if (attentionMask.Length != batch * total)
            throw new ShapeException("TorchAttentionContext", $"attention mask has {attentionMask.Length} entries, expected [B, past + T] = [{batch}, {total}]");
        var m = tensor(attentionMask.Select(v => (long)(v != 0 ? 1 : 0)).ToArray(), [batch, total], ScalarType.Int64, device);
        // position = cumsum(mask) − 1, padding → 1 (transformers' prepare_inputs_for_generation)
        var positions = (m.cumsum(1) - 1).masked_fill(m.eq(0), 1);
        Positions = positions.narrow(1, past, seq).contiguous().DetachFromDisposeScope();
        Mask = Additive(m.to(ScalarType.Bool), past, seq).DetachFromDisposeScope();
    }

    /// <summary>[B, S] key mask → additive [B, 1, T, S]: 0 where j ≤ past + i and key j is a token, float32's lowest elsewhere.</summary>
    private static Tensor Additive(Tensor keys, int past, int seq)
    {
        long total = keys.shape[1];
        var causal = arange(total, device: keys.device).unsqueeze(0).le(arange(past, past + seq, device: keys.device).unsqueeze(1)); // (T, S)
        var allowed = causal.unsqueeze(0).unsqueeze(0).logical_and(keys.unsqueeze(1).unsqueeze(1));                                // (B, 1, T, S)
        return zeros(allowed.shape, ScalarType.Float32, keys.device).masked_fill(allowed.logical_not(), float.MinValue);
    }

    /// <summary>
    /// softmax(q·kᵀ/√D + mask)·v over the cached and new keys of one layer: q [B, Hq, T, D], k and v [B, Hkv, T, D]
    /// (appended to the cache first; each key/value head serves Hq/Hkv query heads) → [B, Hq, T, D].
    /// </summary>
    public Tensor Attend(int layer, Tensor q, Tensor k, Tensor v)
    {
        using var scope = NewDisposeScope();
        if (Cache is not null) (k, v) = Cache.Append(layer, k, v);
        long groups = q.shape[1] / k.shape[1];
        if (groups > 1) (k, v) = (k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1));
        var y = Mask is null
            ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: q.shape[2] > 1)
            : nn.functional.scaled_dot_product_attention(q, k, v, Mask);
        return y.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Positions.Dispose();
        Mask?.Dispose();
    }
}
