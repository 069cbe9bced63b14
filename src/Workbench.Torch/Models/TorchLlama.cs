using TorchSharp;
using Workbench.Models;
using Workbench.Torch.Layers;
using static TorchSharp.torch;

namespace Workbench.Torch.Models;

/// <summary>
/// LlamaForCausalLM and GemmaForCausalLM on libtorch, with Hugging Face's names: model.embed_tokens,
/// model.layers.{i}.{self_attn.{q,k,v,o}_proj, mlp.{gate,up,down}_proj, input_layernorm, post_attention_layernorm},
/// model.norm, lm_head (absent when tied). Gemma: embeddings scaled by √C rounded to the embedding's dtype, norms scale
/// by (1 + w), GeGLU with the tanh GELU (see <c>Workbench.Models.Gemma.GemmaForCausalLM</c>).
/// </summary>
public sealed class TorchLlama : TorchCausalLM
{
    private readonly double embeddingScale = 1;

    public TorchLlama(ModelConfig c, TorchWeightSource w, Device device) : base(c, new("model.embed_tokens", "model.layers", "model.norm", "lm_head"), device)
    {
        bool gemma = c.ModelType == "gemma";
        var model = Add("model", new TorchContainer());
        var embed = model.Add("embed_tokens", new TorchEmbedding(w("model.embed_tokens.weight", [c.VocabSize, c.HiddenSize])));
        var layers = model.Add("layers", new TorchContainer());
        for (int i = 0; i < c.NumLayers; i++)
            layers.Add(i.ToString(), new TorchLlamaLayer(c, i, $"model.layers.{i}.", w, gemma));
        model.Add("norm", new TorchRmsNorm(w("model.norm.weight", [c.HiddenSize]), c.NormEps, gemma));
        if (!c.TieWordEmbeddings) Add("lm_head", new FrozenLinear(w("lm_head.weight", [c.VocabSize, c.HiddenSize]), null));
        // normalizer = torch.tensor(hidden ** 0.5, dtype=embedding dtype)
        if (gemma) embeddingScale = tensor(Math.Sqrt(c.HiddenSize), embed.Weight.dtype).to(ScalarType.Float32).item<float>();
    }

    protected override Tensor Embed(Tensor ids) => embeddingScale == 1 ? base.Embed(ids) : base.Embed(ids) * embeddingScale;
}

/// <summary>Pre-norm block: x += attn(norm(x)); x += mlp(norm(x)).</summary>
public sealed class TorchLlamaLayer : TorchDecoderLayer
{
    private readonly int layer, heads, kvHeads, headDim;
    private readonly bool tanhGelu;

    public TorchLlamaLayer(ModelConfig c, int layer, string prefix, TorchWeightSource w, bool unitOffsetNorms) : base("LlamaDecoderLayer")
    {
        (this.layer, heads, kvHeads, headDim) = (layer, c.NumHeads, c.NumKvHeads, c.HeadDim);
        tanhGelu = c.HiddenAct switch
        {
            "silu" or "swish" => false,
            "gelu_pytorch_tanh" or "gelu_new" or "gelu_fast" => true,
            _ => throw new NotSupportedException($"{c.Source}: hidden activation '{c.HiddenAct}' is not supported for {c.ModelType} (silu, gelu_pytorch_tanh)"),
        };
        FrozenLinear Linear(string name, int output, int input, bool bias) =>
            new(w(prefix + name + ".weight", [output, input]), bias ? w(prefix + name + ".bias", [output]) : null);
        var attn = Add("self_attn", new TorchContainer());
        attn.Add("q_proj", Linear("self_attn.q_proj", heads * headDim, c.HiddenSize, c.AttentionBias));
        attn.Add("k_proj", Linear("self_attn.k_proj", kvHeads * headDim, c.HiddenSize, c.AttentionBias));
        attn.Add("v_proj", Linear("self_attn.v_proj", kvHeads * headDim, c.HiddenSize, c.AttentionBias));
        attn.Add("o_proj", Linear("self_attn.o_proj", c.HiddenSize, heads * headDim, c.AttentionBias));
        var mlp = Add("mlp", new TorchContainer());
        mlp.Add("gate_proj", Linear("mlp.gate_proj", c.IntermediateSize, c.HiddenSize, c.MlpBias));
        mlp.Add("up_proj", Linear("mlp.up_proj", c.IntermediateSize, c.HiddenSize, c.MlpBias));
        mlp.Add("down_proj", Linear("mlp.down_proj", c.HiddenSize, c.IntermediateSize, c.MlpBias));
        Add("input_layernorm", new TorchRmsNorm(w(prefix + "input_layernorm.weight", [c.HiddenSize]), c.NormEps, unitOffsetNorms));
        Add("post_attention_layernorm", new TorchRmsNorm(w(prefix + "post_attention_layernorm.weight", [c.HiddenSize]), c.NormEps, unitOffsetNorms));
    }

    private Tensor Call(string path, Tensor x) => ((nn.Module<Tensor, Tensor>)this.Find(path)).call(x);

    /// <summary>x (B, T, C) → (B, T, C).</summary>
    public override Tensor Forward(Tensor x, TorchRope rope, TorchAttentionContext context)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var h = Call("input_layernorm", x);
        Tensor Project(string name, int n) => Call("self_attn." + name, h).reshape(b, t, n, headDim).transpose(1, 2);   // (B, n, T, D)
        var q = rope.Apply(Project("q_proj", heads), context.Positions);
        var k = rope.Apply(Project("k_proj", kvHeads), context.Positions);
        var y = context.Attend(layer, q, k, Project("v_proj", kvHeads));                                              // (B, H, T, D)
        x = x + Call("self_attn.o_proj", y.transpose(1, 2).reshape(b, t, heads * headDim));
        h = Call("post_attention_layernorm", x);
        // SwiGLU: silu(gate)·up; GeGLU: gelu_tanh(gate)·up
        var gate = Call("mlp.gate_proj", h);
        var act = tanhGelu ? nn.functional.gelu(gate, TorchSharp.Modules.GELU.Approximate.tanh) : nn.functional.silu(gate);
        return (x + Call("mlp.down_proj", act * Call("mlp.up_proj", h))).MoveToOuterDisposeScope();
    }
}
