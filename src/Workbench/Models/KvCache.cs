using Workbench.Engine;

namespace Workbench.Models;

/// <summary>
/// The keys and values of the tokens a model has already seen, per layer, for incremental decoding: each
/// forward appends its T new tokens and attends over all Length + T. Inference only (values are copied, no
/// gradient flows through). Per layer the buffers are [B, Hkv, capacity, D], grown by doubling.
/// </summary>
public sealed class KvCache : IKvCache
{
    private readonly LayerBuffers[] layers;

    /// <summary>Tokens cached so far: the next forward's first position (before padding offsets).</summary>
    public int Length { get; private set; }
    public int Batch { get; }
    public int NumLayers => layers.Length;

    public KvCache(int numLayers, int batch)
    {
        if (numLayers <= 0 || batch <= 0) throw new ArgumentOutOfRangeException(nameof(numLayers), $"KvCache: {numLayers} layers, batch {batch}");
        layers = Enumerable.Range(0, numLayers).Select(_ => new LayerBuffers()).ToArray();
        Batch = batch;
    }

    /// <summary>Stores this step's k, v [B, Hkv, T, D] of one layer after the cached ones; returns all keys and values [B, Hkv, Length + T, D].</summary>
    public (Tensor K, Tensor V) Append(int layer, Tensor k, Tensor v)
    {
        if (k.Rank != 4 || !Shape.SameShape(k.Shape, v.Shape) || k.Shape[0] != Batch)
            throw new ShapeException("KvCache.Append", $"expects k and v [{Batch}, Hkv, T, D], got k {Shape.Format(k.Shape)}, v {Shape.Format(v.Shape)}");
        return layers[layer].Append(Length, k, v);
    }

    /// <summary>Marks the T tokens just run through every layer as cached.</summary>
    public void Advance(int tokens) => Length += tokens;

    /// <summary>
    /// Forgets every token after the first <paramref name="length"/>: the next forward continues from there and
    /// overwrites them. Scoring several continuations of one context runs the context once and rewinds between them.
    /// </summary>
    public void Rewind(int length)
    {
        if (length < 0 || length > Length) throw new ArgumentOutOfRangeException(nameof(length), $"KvCache: cannot rewind {Length} cached tokens to {length}");
        Length = length;
    }

    private sealed class LayerBuffers
    {
        private float[] keys = [], values = [];
        private int heads, dim, capacity;

        public (Tensor K, Tensor V) Append(int length, Tensor k, Tensor v)
        {
            int b = k.Shape[0], h = k.Shape[1], t = k.Shape[2], d = k.Shape[3];
            if (capacity == 0) (heads, dim) = (h, d);
            else if (h != heads || d != dim)
                throw new ShapeException("KvCache.Append", $"k {Shape.Format(k.Shape)} does not match the cached [{b}, {heads}, {length}, {dim}]");
            if (length + t > capacity) Grow(b, length, Math.Max(2 * capacity, Math.Max(16, length + t)));
            Write(keys, k.ToArray(), b, length, t);
            Write(values, v.ToArray(), b, length, t);
            int[] shape = [b, heads, length + t, dim], strides = [heads * capacity * dim, capacity * dim, dim, 1];
            return (new Tensor(new F32Storage(keys), shape, strides), new Tensor(new F32Storage(values), shape, strides));
        }

        /// <summary>buffer[b, h, length + i, :] = step[b, h, i, :] for i &lt; T.</summary>
        private void Write(float[] buffer, float[] step, int b, int length, int t)
        {
            for (int bh = 0; bh < b * heads; bh++)
                step.AsSpan(bh * t * dim, t * dim).CopyTo(buffer.AsSpan((bh * capacity + length) * dim));
        }

        private void Grow(int b, int length, int newCapacity)
        {
            var (oldKeys, oldValues, oldCapacity) = (keys, values, capacity);
            keys = new float[b * heads * newCapacity * dim];
            values = new float[keys.Length];
            capacity = newCapacity;
            for (int bh = 0; bh < b * heads && length > 0; bh++)
            {
                oldKeys.AsSpan(bh * oldCapacity * dim, length * dim).CopyTo(keys.AsSpan(bh * newCapacity * dim));
                oldValues.AsSpan(bh * oldCapacity * dim, length * dim).CopyTo(values.AsSpan(bh * newCapacity * dim));
            }
        }
    }
}
