using Workbench.Engine;
using Workbench.Engine.Nn;

namespace Workbench.Models.Llama;

/// <summary>
/// LlamaForCausalLM with Hugging Face parameter names:
/// model.embed_tokens, model.layers.{i}.{input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm,
/// mlp.{gate,up,down}_proj}, model.norm, lm_head (absent when tied to the embedding).
/// Shapes: B batch, T tokens, C hidden, V vocab.
/// </summary>
public sealed class LlamaForCausalLM : CausalLMModule
{
    private Module Model => Child<Module>("model");
    public Embedding EmbedTokens => Model.Child<Embedding>("embed_tokens");
    public ModuleList<LlamaDecoderLayer> Layers => Model.Child<ModuleList<LlamaDecoderLayer>>("layers");
    public RmsNorm Norm => Model.Child<RmsNorm>("norm");

    public LlamaForCausalLM(ModelConfig config, WeightSource weights) : base(config, Parts)
    {
        var model = AddModule("model", new Container());
        model.Add("embed_tokens", new Embedding(weights("model.embed_tokens.weight", [config.VocabSize, config.HiddenSize])));
        var layers = model.Add("layers", new ModuleList<LlamaDecoderLayer>());
        for (int i = 0; i < config.NumLayers; i++)
            layers.Add(new LlamaDecoderLayer(config, i, $"model.layers.{i}.", weights));
        model.Add("norm", new RmsNorm(weights("model.norm.weight", [config.HiddenSize]), (float)config.NormEps));
        if (!config.TieWordEmbeddings)
            AddModule("lm_head", new Linear(weights("lm_head.weight", [config.VocabSize, config.HiddenSize])));
    }

    /// <summary>Where Llama and Gemma keep the shared parts.</summary>
    internal static readonly CausalLMParts Parts = new("model.embed_tokens", "model.layers", "model.norm", "lm_head");
}

/// <summary>Pre-norm decoder layer: x += attn(norm(x)); x += mlp(norm(x)). Gemma's norms scale by (1 + w).</summary>
public sealed class LlamaDecoderLayer : DecoderLayer
{
    public LlamaAttention SelfAttn => Child<LlamaAttention>("self_attn");
    public LlamaMlp Mlp => Child<LlamaMlp>("mlp");

    public LlamaDecoderLayer(ModelConfig c, int index, string prefix, WeightSource w, bool unitOffsetNorms = false)
    {
        // Registration order is transformers' state-dict order.
        AddModule("self_attn", new LlamaAttention(c, index, prefix + "self_attn.", w));
        AddModule("mlp", new LlamaMlp(c, prefix + "mlp.", w));
        AddModule("input_layernorm", new RmsNorm(w(prefix + "input_layernorm.weight", [c.HiddenSize]), (float)c.NormEps, unitOffsetNorms));
        AddModule("post_attention_layernorm", new RmsNorm(w(prefix + "post_attention_layernorm.weight", [c.HiddenSize]), (float)c.NormEps, unitOffsetNorms));
    }

    /// <summary>x (B, T, C) → (B, T, C).</summary>
    public override Tensor Forward(Tensor x, RopeCache rope, AttentionContext context)
    {
        x = Ops.Add(x, SelfAttn.Forward(Child<RmsNorm>("input_layernorm").Forward(x), rope, context));
        return Ops.Add(x, Mlp.Forward(Child<RmsNorm>("post_attention_layernorm").Forward(x)));
    }
}

/// <summary>Grouped-query self-attention with rotary positions (multi-query when Hkv = 1); head_dim from the config.</summary>
public sealed class LlamaAttention : Module
{
    private readonly int layer, heads, kvHeads, headDim;

    public LlamaAttention(ModelConfig c, int layer, string prefix, WeightSource w)
    {
        this.layer = layer;
        heads = c.NumHeads; kvHeads = c.NumKvHeads; headDim = c.HeadDim;
        Tensor? Bias(string name, int n) => c.AttentionBias ? w(prefix + name + ".bias", [n]) : null;
        AddModule("q_proj", new Linear(w(prefix + "q_proj.weight", [heads * headDim, c.HiddenSize]), Bias("q_proj", heads * headDim)));
        AddModule("k_proj", new Linear(w(prefix + "k_proj.weight", [kvHeads * headDim, c.HiddenSize]), Bias("k_proj", kvHeads * headDim)));
        AddModule("v_proj", new Linear(w(prefix + "v_proj.weight", [kvHeads * headDim, c.HiddenSize]), Bias("v_proj", kvHeads * headDim)));
        AddModule("o_proj", new Linear(w(prefix + "o_proj.weight", [c.HiddenSize, heads * headDim]), Bias("o_proj", c.HiddenSize)));
    }

    /// <summary>x (B, T, C) → (B, T, C).</summary>
    public Tensor Forward(Tensor x, RopeCache rope, AttentionContext context)
    {
        int b = x.Shape[0], t = x.Shape[1];
        Tensor Project(string name, int n) => Child<Layer>(name).Forward(x).Reshape(b, t, n, headDim).Transpose(1, 2); // (B, n, T, D)
        var q = Ops.Rope(Project("q_proj", heads), rope, context.Positions);
        var k = Ops.Rope(Project("k_proj", kvHeads), rope, context.Positions);
        var v = Project("v_proj", kvHeads);
        var y = context.Attend(layer, q, k, v);                            // (B, H, T, D)
        return Child<Layer>("o_proj").Forward(y.Transpose(1, 2).Reshape(b, t, heads * headDim));
    }
}

/// <summary>Gated feed-forward: down(act(gate(x)) ⊙ up(x)); SwiGLU for silu (Llama), GeGLU for the tanh GELU (Gemma).</summary>
public sealed class LlamaMlp : Module
{
    private readonly Func<Tensor, Tensor, Tensor> gated;

    public LlamaMlp(ModelConfig c, string prefix, WeightSource w)
    {
        // the activations ModelConfig accepts: SiLU (Llama) or a tanh GELU (Gemma)
        gated = c.HiddenAct is "silu" or "swish" ? Ops.SwiGlu : Ops.GeGlu;
        Tensor? Bias(string name, int n) => c.MlpBias ? w(prefix + name + ".bias", [n]) : null;
        AddModule("gate_proj", new Linear(w(prefix + "gate_proj.weight", [c.IntermediateSize, c.HiddenSize]), Bias("gate_proj", c.IntermediateSize)));
        AddModule("up_proj", new Linear(w(prefix + "up_proj.weight", [c.IntermediateSize, c.HiddenSize]), Bias("up_proj", c.IntermediateSize)));
        AddModule("down_proj", new Linear(w(prefix + "down_proj.weight", [c.HiddenSize, c.IntermediateSize]), Bias("down_proj", c.HiddenSize)));
    }

    public Tensor Forward(Tensor x) =>
        Child<Layer>("down_proj").Forward(gated(Child<Layer>("gate_proj").Forward(x), Child<Layer>("up_proj").Forward(x)));
}
