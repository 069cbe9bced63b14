using TorchSharp;
using Workbench.Models;
using static TorchSharp.torch;

namespace Workbench.Torch.Models;

/// <summary>
/// Keys and values of the tokens seen so far, per layer [B, Hkv, capacity, D] on the model's device, grown by
/// doubling; each forward writes its T new positions after <see cref="Length"/> and attends over Length + T.
/// </summary>
public sealed class TorchKvCache(int numLayers, int batch) : IKvCache
{
    private readonly Tensor?[] keys = new Tensor?[numLayers], values = new Tensor?[numLayers];

    public int Batch { get; } = batch;
    public int Length { get; private set; }

    /// <summary>Stores k, v [B, Hkv, T, D] of one layer at positions Length…Length+T−1; returns all [B, Hkv, Length + T, D].</summary>
    public (Tensor K, Tensor V) Append(int layer, Tensor k, Tensor v)
    {
        long t = k.shape[2], needed = Length + t;
        if (keys[layer] is null || keys[layer]!.shape[2] < needed)
        {
            long capacity = Math.Max(needed, Math.Max(16, 2 * (keys[layer]?.shape[2] ?? 0)));
            keys[layer] = Grown(keys[layer], k, capacity);
            values[layer] = Grown(values[layer], v, capacity);
        }
        keys[layer]!.narrow(2, Length, t).copy_(k);
        values[layer]!.narrow(2, Length, t).copy_(v);
        return (keys[layer]!.narrow(2, 0, needed), values[layer]!.narrow(2, 0, needed));
    }

    /// <summary>Marks the T tokens just run through every layer as cached.</summary>
    public void Advance(int tokens) => Length += tokens;

    public void Rewind(int length)
    {
        if (length < 0 || length > Length) throw new ArgumentOutOfRangeException(nameof(length), $"TorchKvCache: cannot rewind {Length} cached tokens to {length}");
        Length = length;
    }

    private Tensor Grown(Tensor? old, Tensor like, long capacity)
    {
        var buffer = zeros([like.shape[0], like.shape[1], capacity, like.shape[3]], like.dtype, like.device);
        buffer.DetachFromDisposeScope();
        if (old is not null)
        {
            if (Length > 0) buffer.narrow(2, 0, Length).copy_(old.narrow(2, 0, Length));
            old.Dispose();
        }
        return buffer;
    }
}
