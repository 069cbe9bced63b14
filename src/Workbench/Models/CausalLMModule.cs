using Workbench.Engine;
using Workbench.Engine.Nn;

namespace Workbench.Models;

/// <summary>Where a model keeps the parts every causal LM has, as dotted module paths (Hugging Face names).</summary>
public sealed record CausalLMParts(string Embeddings, string Layers, string FinalNorm, string Head);

/// <summary>
/// What the three architectures share, as the managed engine runs them: embed → decoder layers (each optionally under
/// activation recomputation) → final norm → head, the head tied to the embedding unless the model has its own layer.
/// A subclass registers its modules under Hugging Face's names and says where the shared parts are
/// (<see cref="CausalLMParts"/>); it overrides <see cref="Embed"/> when the embedding is not a plain lookup.
/// It is a <see cref="Module"/> (adapters, quantisation and files see its parameter tree) and an
/// <see cref="ICausalLM"/> (evaluation and generation see logits). Shapes: B batch, T tokens, C hidden, V vocab.
/// </summary>
public abstract class CausalLMModule : Module, ICausalLM
{
    private readonly CausalLMParts parts;

    public ModelConfig Config { get; }
    public RopeCache Rope { get; }

    /// <summary>Recompute each layer's activations in backward instead of keeping them (never with a KV cache).</summary>
    public bool GradientCheckpointing { get; set; }

    protected CausalLMModule(ModelConfig config, CausalLMParts parts)
    {
        Config = config;
        this.parts = parts;
        Rope = new RopeCache(config.HeadDim, config.RotaryDim, (float)config.RopeTheta, config.MaxPositions, config.RopeScaling);
    }

    public Embedding Embeddings => (Embedding)Find(parts.Embeddings);
    public IEnumerable<DecoderLayer> DecoderLayers => Find(parts.Layers).NamedChildren().Select(c => (DecoderLayer)c.Module);
    public Layer FinalNorm => (Layer)Find(parts.FinalNorm);

    /// <summary>ids [B, T] → embeddings [B, T, C].</summary>
    protected virtual Tensor Embed(int[] ids, int batch, int seq) => Embeddings.Forward(ids, batch, seq);

    /// <summary>ids [B, T] → logits [B, T, V].</summary>
    public Tensor Forward(int[] ids, int batch, int seq) => Forward(ids, batch, seq, null);

    /// <summary>ids [B, T] after the cached tokens → logits [B, T, V] (see <see cref="ICausalLM.Logits"/>).</summary>
    public Tensor Forward(int[] ids, int batch, int seq, KvCache? cache, int[]? attentionMask = null) =>
        LmHead(HiddenStates(ids, batch, seq, cache, attentionMask));

    /// <summary>ids [B, T] after the cached tokens → the last layer's normalised hidden states [B, T, C].</summary>
    public Tensor HiddenStates(int[] ids, int batch, int seq, KvCache? cache = null, int[]? attentionMask = null)
    {
        var context = AttentionContext.Create(batch, seq, cache, attentionMask);
        var x = Embed(ids, batch, seq);                                                   // (B, T, C)
        bool recompute = GradientCheckpointing && cache is null;   // a recomputed layer would append to the cache twice
        foreach (var layer in DecoderLayers)
            x = recompute ? Checkpoint.Run(h => layer.Forward(h[0], Rope, context), x) : layer.Forward(x, Rope, context);
        cache?.Advance(seq);
        return FinalNorm.Forward(x);
    }

    /// <summary>hidden [..., C] → logits [..., V]; an untied head is a layer like any other (an adapter may wrap it).</summary>
    public Tensor LmHead(Tensor hidden) =>
        Config.TieWordEmbeddings ? Ops.Linear(hidden, Embeddings.Weight) : ((Layer)Find(parts.Head)).Forward(hidden);

    /// <summary>
    /// Mean cross-entropy of the head's logits for hidden [N, C] against targets [N] (−100 ignored). A head that is one
    /// weight (tied to the embedding, or a plain linear layer without bias) goes through
    /// <see cref="Ops.LinearCrossEntropy"/> and never holds all N·V logits; any other (an adapter around it, a quantised
    /// one) through <see cref="LmHead"/> and <see cref="Ops.CrossEntropy"/>. The loss is the same either way.
    /// </summary>
    public Tensor HeadLoss(Tensor hidden, int[] targets) =>
        HeadAsOneWeight is { } weight ? Ops.LinearCrossEntropy(hidden, weight, targets) : Ops.CrossEntropy(LmHead(hidden), targets);

    /// <summary>
    /// Each row's log-probability of its target under the head, hidden [N, C] and targets [N] in [0, V) → [N]: through
    /// <see cref="Ops.LinearLogProbs"/> (one [N, V] array) when the head is one weight, else <see cref="LmHead"/>, the
    /// log-softmax and a gather.
    /// </summary>
    public Tensor HeadLogProbs(Tensor hidden, int[] targets)
    {
        if (HeadAsOneWeight is { } weight) return Ops.LinearLogProbs(hidden, weight, targets);
        var logp = Ops.LogSoftmax(LmHead(hidden));                                        // (N, V)
        int n = targets.Length, vocab = logp.Shape[^1];
        return Ops.Embedding(logp.Reshape(n * vocab, 1), targets.Select((t, i) => i * vocab + t).ToArray()).Reshape(n);
    }

    /// <summary>The head's weight [V, C] when the head is nothing more (tied to the embedding, or a plain linear layer without bias).</summary>
    private Tensor? HeadAsOneWeight =>
        Config.TieWordEmbeddings ? Embeddings.Weight : Find(parts.Head) is Linear { HasBias: false } head ? head.Weight : null;

    public IKvCache NewCache(int batch) => new KvCache(Config.NumLayers, batch);

    public float[] Logits(int[] ids, int batch, int seq, IKvCache? cache = null, int[]? attentionMask = null, int[]? rows = null)
    {
        var kv = cache switch
        {
            null => null,
            KvCache own => own,
            _ => throw new ArgumentException($"{GetType().Name}: a {cache.GetType().Name} is not this engine's cache", nameof(cache)),
        };
        using var _ = GradMode.NoGrad();
        var hidden = HiddenStates(ids, batch, seq, kv, attentionMask);                   // (B, T, C)
        if (rows is { Length: 0 }) return [];                                             // the cache was the point
        if (rows is not null) hidden = Ops.Embedding(hidden.Reshape(batch * seq, -1), rows); // (N, C)
        return LmHead(hidden).ToArray();
    }
}

/// <summary>One transformer block: x (B, T, C) → (B, T, C), attending through <paramref name="context"/>.</summary>
public abstract class DecoderLayer : Module
{
    public abstract Tensor Forward(Tensor x, RopeCache rope, AttentionContext context);
}
