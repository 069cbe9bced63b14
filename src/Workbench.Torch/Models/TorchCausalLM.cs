using TorchSharp;
using Workbench.Models;
using Workbench.Torch.Layers;
using static TorchSharp.torch;

namespace Workbench.Torch.Models;

/// <summary>
/// What the three architectures share on libtorch, as <c>Workbench.Models.CausalLMModule</c> does on the managed
/// engine: embed → decoder layers (each optionally recomputed in backward) → final norm → head, the head tied to the
/// embedding unless the model has its own layer. Parameters carry Hugging Face's names; a subclass registers them and
/// says where the shared parts are. It is the <see cref="ICausalLM"/> of the torch backend: arrays in, arrays out.
/// Shapes: B batch, T tokens, C hidden, V vocab.
/// </summary>
public abstract class TorchCausalLM : TorchModule, ICausalLM
{
    private readonly CausalLMParts parts;

    public ModelConfig Config { get; }
    public Device Device { get; }
    public TorchRope Rope { get; }

    /// <summary>Recompute each layer's activations in backward instead of keeping them (never with a KV cache).</summary>
    public bool GradientCheckpointing { get; set; }

    protected TorchCausalLM(ModelConfig config, CausalLMParts parts, Device device) : base(config.Architecture)
    {
        (Config, this.parts, Device) = (config, parts, device);
        Rope = new TorchRope(config, device);
    }

    public TorchEmbedding Embeddings => (TorchEmbedding)this.Find(parts.Embeddings);
    public IEnumerable<TorchDecoderLayer> DecoderLayers => this.Find(parts.Layers).named_children().Select(c => (TorchDecoderLayer)c.module);
    public nn.Module<Tensor, Tensor> FinalNorm => (nn.Module<Tensor, Tensor>)this.Find(parts.FinalNorm);

    /// <summary>The layers Hugging Face's output head may be (lm_head, embed_out): absent when tied.</summary>
    public string HeadPath => parts.Head;

    /// <summary>ids (B, T) → embeddings (B, T, C) in float32.</summary>
    protected virtual Tensor Embed(Tensor ids) => Embeddings.call(ids);

    /// <summary>ids (B, T) after the cached tokens → the last layer's normalised hidden states (B, T, C).</summary>
    public Tensor HiddenStates(Tensor ids, TorchKvCache? cache = null, int[]? attentionMask = null)
    {
        int batch = (int)ids.shape[0], seq = (int)ids.shape[1];
        bool recompute = GradientCheckpointing && cache is null && is_grad_enabled();
        // Recomputed layers use the context again in backward: then it is left to the garbage collector.
        var context = new TorchAttentionContext(batch, seq, cache, attentionMask, Device);
        try
        {
            using var scope = NewDisposeScope();
            var x = Embed(ids);                                                      // (B, T, C)
            foreach (var layer in DecoderLayers)
                x = recompute ? LayerCheckpoint.Run(h => layer.Forward(h, Rope, context), x, layer.parameters().Where(p => p.requires_grad)) : layer.Forward(x, Rope, context);
            cache?.Advance(seq);
            return FinalNorm.call(x).MoveToOuterDisposeScope();
        }
        finally
        {
            if (!recompute) context.Dispose();
        }
    }

    /// <summary>hidden (..., C) → logits (..., V); an untied head is a layer like any other (an adapter may wrap it).</summary>
    public Tensor LmHead(Tensor hidden)
    {
        if (!Config.TieWordEmbeddings) return ((nn.Module<Tensor, Tensor>)this.Find(parts.Head)).call(hidden);
        var (weight, dtype) = (Embeddings.Weight, hidden.dtype);
        return weight.dtype == dtype ? nn.functional.linear(hidden, weight)
            : FrozenWeightLinear.Apply((start, count) => weight.narrow(0, start, count).to(dtype), weight.shape[0], FrozenWeightLinear.RowsPerBlock(weight.shape[1]), hidden);
    }

    public IKvCache NewCache(int batch) => new TorchKvCache(Config.NumLayers, batch);

    public float[] Logits(int[] ids, int batch, int seq, IKvCache? cache = null, int[]? attentionMask = null, int[]? rows = null)
    {
        var kv = cache switch
        {
            null => null,
            TorchKvCache own => own,
            _ => throw new ArgumentException($"{GetType().Name}: a {cache.GetType().Name} is not the torch backend's cache", nameof(cache)),
        };
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var hidden = HiddenStates(TorchTensors.Ids(ids, batch, seq, Device), kv, attentionMask);          // (B, T, C)
        if (rows is { Length: 0 }) return [];
        hidden = hidden.reshape(batch * seq, -1);
        if (rows is not null) hidden = hidden.index_select(0, tensor(rows.Select(r => (long)r).ToArray(), device: Device));
        return TorchTensors.ToFloats(LmHead(hidden));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Rope.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>One transformer block: x (B, T, C) → (B, T, C), attending through the context.</summary>
public abstract class TorchDecoderLayer(string name) : TorchModule(name)
{
    public abstract Tensor Forward(Tensor x, TorchRope rope, TorchAttentionContext context);
}

/// <summary>Supplies a model's frozen parameters by Hugging Face name and expected shape, on the model's device.</summary>
public delegate Tensor TorchWeightSource(string name, long[] shape);
