using Workbench.Engine;
using Workbench.Engine.Nn;

namespace Workbench.Models.Llama;

/// <summary>
/// LlamaForCausalLM with Hugging Face parameter names:
/// model.embed_tokens, model.layers.{i}.{input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm,
/// mlp.{gate,up,down}_proj}, model.norm, lm_head (absent when tied to the embedding).
/// Shapes: B batch, T tokens, C hidden, V vocab.
/// </summary>
public sealed class LlamaForCausalLM : Module, ICausalLM
{
    public ModelConfig Config { get; }
    public RopeCache Rope { get; }
    public bool GradientCheckpointing { get; set; }

    private Module Model => Child<Module>("model");
    public Embedding EmbedTokens => Model.Child<Embedding>("embed_tokens");
    public ModuleList<LlamaDecoderLayer> Layers => Model.Child<ModuleList<LlamaDecoderLayer>>("layers");
    public RmsNorm Norm => Model.Child<RmsNorm>("norm");

    public LlamaForCausalLM(ModelConfig config, WeightSource weights)
    {
        Config = config;
        var model = AddModule("model", new Container());
        model.Add("embed_tokens", new Embedding(weights("model.embed_tokens.weight", [config.VocabSize, config.HiddenSize])));
        var layers = model.Add("layers", new ModuleList<LlamaDecoderLayer>());
        for (int i = 0; i < config.NumLayers; i++)
            layers.Add(new LlamaDecoderLayer(config, $"model.layers.{i}.", weights));
        model.Add("norm", new RmsNorm(weights("model.norm.weight", [config.HiddenSize]), (float)config.NormEps));
        if (!config.TieWordEmbeddings)
            AddModule("lm_head", new Linear(weights("lm_head.weight", [config.VocabSize, config.HiddenSize])));
        Rope = new RopeCache(config.HeadDim, config.HeadDim, (float)config.RopeTheta, config.MaxPositions);
    }

    /// <summary>ids [B, T] → logits [B, T, V].</summary>
    public Tensor Forward(int[] ids, int batch, int seq)
    {
        var x = EmbedTokens.Forward(ids, batch, seq);                       // (B, T, C)
        for (int i = 0; i < Layers.Count; i++)
        {
            var layer = Layers[i];
            x = GradientCheckpointing ? Checkpoint.Run(h => layer.Forward(h[0], Rope), x) : layer.Forward(x, Rope);
        }
        x = Norm.Forward(x);
        var head = Config.TieWordEmbeddings ? EmbedTokens.Weight : Child<Linear>("lm_head").Weight;
        return Ops.Linear(x, head);                                         // (B, T, V)
    }
}

/// <summary>Pre-norm decoder layer: x += attn(norm(x)); x += mlp(norm(x)).</summary>
public sealed class LlamaDecoderLayer : Module
{
    public LlamaAttention SelfAttn => Child<LlamaAttention>("self_attn");
    public LlamaMlp Mlp => Child<LlamaMlp>("mlp");

    public LlamaDecoderLayer(ModelConfig c, string prefix, WeightSource w)
    {
        AddModule("input_layernorm", new RmsNorm(w(prefix + "input_layernorm.weight", [c.HiddenSize]), (float)c.NormEps));
        AddModule("self_attn", new LlamaAttention(c, prefix + "self_attn.", w));
        AddModule("post_attention_layernorm", new RmsNorm(w(prefix + "post_attention_layernorm.weight", [c.HiddenSize]), (float)c.NormEps));
        AddModule("mlp", new LlamaMlp(c, prefix + "mlp.", w));
    }

    public Tensor Forward(Tensor x, RopeCache rope)
    {
        x = Ops.Add(x, SelfAttn.Forward(Child<RmsNorm>("input_layernorm").Forward(x), rope));
        return Ops.Add(x, Mlp.Forward(Child<RmsNorm>("post_attention_layernorm").Forward(x)));
    }
}

/// <summary>Grouped-query self-attention with rotary positions.</summary>
public sealed class LlamaAttention : Module
{
    private readonly int heads, kvHeads, headDim;

    public LlamaAttention(ModelConfig c, string prefix, WeightSource w)
    {
        heads = c.NumHeads; kvHeads = c.NumKvHeads; headDim = c.HeadDim;
        AddModule("q_proj", new Linear(w(prefix + "q_proj.weight", [heads * headDim, c.HiddenSize])));
        AddModule("k_proj", new Linear(w(prefix + "k_proj.weight", [kvHeads * headDim, c.HiddenSize])));
        AddModule("v_proj", new Linear(w(prefix + "v_proj.weight", [kvHeads * headDim, c.HiddenSize])));
        AddModule("o_proj", new Linear(w(prefix + "o_proj.weight", [c.HiddenSize, heads * headDim])));
    }

    /// <summary>x (B, T, C) → (B, T, C).</summary>
    public Tensor Forward(Tensor x, RopeCache rope)
    {
        int b = x.Shape[0], t = x.Shape[1];
        Tensor Project(string name, int n) => Child<Layer>(name).Forward(x).Reshape(b, t, n, headDim).Transpose(1, 2); // (B, n, T, D)
        var q = Ops.Rope(Project("q_proj", heads), rope);
        var k = Ops.Rope(Project("k_proj", kvHeads), rope);
        var v = Project("v_proj", kvHeads);
        var y = Ops.ScaledDotProductAttention(q, k, v, causal: true);      // (B, H, T, D)
        return Child<Layer>("o_proj").Forward(y.Transpose(1, 2).Reshape(b, t, heads * headDim));
    }
}

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) ⊙ up(x)).</summary>
public sealed class LlamaMlp : Module
{
    public LlamaMlp(ModelConfig c, string prefix, WeightSource w)
    {
        AddModule("gate_proj", new Linear(w(prefix + "gate_proj.weight", [c.IntermediateSize, c.HiddenSize])));
        AddModule("up_proj", new Linear(w(prefix + "up_proj.weight", [c.IntermediateSize, c.HiddenSize])));
        AddModule("down_proj", new Linear(w(prefix + "down_proj.weight", [c.HiddenSize, c.IntermediateSize])));
    }

    public Tensor Forward(Tensor x) =>
        Child<Layer>("down_proj").Forward(Ops.SwiGlu(Child<Layer>("gate_proj").Forward(x), Child<Layer>("up_proj").Forward(x)));
}
