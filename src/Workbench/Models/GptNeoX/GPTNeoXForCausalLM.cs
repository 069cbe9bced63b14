using Workbench.Engine;
using Workbench.Engine.Nn;

namespace Workbench.Models.GptNeoX;

/// <summary>
/// GPTNeoXForCausalLM (Pythia, Polyglot-ko) with Hugging Face parameter names: gpt_neox.embed_in,
/// gpt_neox.layers.{i}.{input_layernorm, post_attention_layernorm, attention.{query_key_value, dense},
/// mlp.{dense_h_to_4h, dense_4h_to_h}}, gpt_neox.final_layer_norm, embed_out (absent when tied). LayerNorms and
/// linear layers carry biases; RoPE rotates the first rotary_pct of each head. Shapes: B batch, T tokens,
/// C hidden, H heads, D head size, V vocab.
/// </summary>
public sealed class GPTNeoXForCausalLM : CausalLMModule
{
    private Module Model => Child<Module>("gpt_neox");
    public Embedding EmbedIn => Model.Child<Embedding>("embed_in");
    public ModuleList<GPTNeoXLayer> Layers => Model.Child<ModuleList<GPTNeoXLayer>>("layers");
    public LayerNorm FinalLayerNorm => Model.Child<LayerNorm>("final_layer_norm");

    public GPTNeoXForCausalLM(ModelConfig config, WeightSource weights)
        : base(config, new("gpt_neox.embed_in", "gpt_neox.layers", "gpt_neox.final_layer_norm", "embed_out"))
    {
        var model = AddModule("gpt_neox", new Container());
        model.Add("embed_in", new Embedding(weights("gpt_neox.embed_in.weight", [config.VocabSize, config.HiddenSize])));
        var layers = model.Add("layers", new ModuleList<GPTNeoXLayer>());
        for (int i = 0; i < config.NumLayers; i++)
            layers.Add(new GPTNeoXLayer(config, i, $"gpt_neox.layers.{i}.", weights));
        model.Add("final_layer_norm", GPTNeoXLayer.Norm(config, "gpt_neox.final_layer_norm", weights));
        if (!config.TieWordEmbeddings)
            AddModule("embed_out", new Linear(weights("embed_out.weight", [config.VocabSize, config.HiddenSize])));
    }
}

/// <summary>
/// One GPT-NeoX block. Parallel residual (use_parallel_residual, Polyglot-ko and Pythia): x + attn(ln1(x)) + mlp(ln2(x));
/// sequential: a = x + attn(ln1(x)); a + mlp(ln2(a)).
/// </summary>
public sealed class GPTNeoXLayer : DecoderLayer
{
    private readonly bool parallelResidual;

    public GPTNeoXAttention Attention => Child<GPTNeoXAttention>("attention");
    public GPTNeoXMlp Mlp => Child<GPTNeoXMlp>("mlp");

    public GPTNeoXLayer(ModelConfig c, int index, string prefix, WeightSource w)
    {
        parallelResidual = c.UseParallelResidual;
        // Registration order is transformers' state-dict order.
        AddModule("input_layernorm", Norm(c, prefix + "input_layernorm", w));
        AddModule("post_attention_layernorm", Norm(c, prefix + "post_attention_layernorm", w));
        AddModule("attention", new GPTNeoXAttention(c, index, prefix + "attention.", w));
        AddModule("mlp", new GPTNeoXMlp(c, prefix + "mlp.", w));
    }

    internal static LayerNorm Norm(ModelConfig c, string name, WeightSource w) =>
        new(w(name + ".weight", [c.HiddenSize]), w(name + ".bias", [c.HiddenSize]), (float)c.NormEps);

    /// <summary>x (B, T, C) → (B, T, C).</summary>
    public override Tensor Forward(Tensor x, RopeCache rope, AttentionContext context)
    {
        var attn = Attention.Forward(Child<LayerNorm>("input_layernorm").Forward(x), rope, context);
        var ln2 = Child<LayerNorm>("post_attention_layernorm");
        if (parallelResidual) return Ops.Add(Ops.Add(Mlp.Forward(ln2.Forward(x)), attn), x);
        attn = Ops.Add(attn, x);
        return Ops.Add(Mlp.Forward(ln2.Forward(attn)), attn);
    }
}

/// <summary>
/// Multi-head attention with a fused projection whose rows are per-head interleaved [q | k | v]: the output
/// [B, T, 3·C] is viewed as [B, T, H, 3·D] and each head's 3·D features split into q, k and v.
/// </summary>
public sealed class GPTNeoXAttention : Module
{
    private readonly int layer, heads, headDim;

    public GPTNeoXAttention(ModelConfig c, int layer, string prefix, WeightSource w)
    {
        this.layer = layer;
        heads = c.NumHeads; headDim = c.HeadDim;
        Tensor? Bias(string name, int n) => c.AttentionBias ? w(prefix + name + ".bias", [n]) : null;
        AddModule("query_key_value", new Linear(w(prefix + "query_key_value.weight", [3 * c.HiddenSize, c.HiddenSize]), Bias("query_key_value", 3 * c.HiddenSize)));
        AddModule("dense", new Linear(w(prefix + "dense.weight", [c.HiddenSize, c.HiddenSize]), Bias("dense", c.HiddenSize)));
    }

    /// <summary>x (B, T, C) → (B, T, C).</summary>
    public Tensor Forward(Tensor x, RopeCache rope, AttentionContext context)
    {
        int b = x.Shape[0], t = x.Shape[1];
        var qkv = Child<Layer>("query_key_value").Forward(x).Reshape(b, t, heads, 3 * headDim).Transpose(1, 2);  // (B, H, T, 3D)
        var q = Ops.Rope(qkv.Narrow(3, 0, headDim), rope, context.Positions);                                     // (B, H, T, D)
        var k = Ops.Rope(qkv.Narrow(3, headDim, headDim), rope, context.Positions);
        var v = qkv.Narrow(3, 2 * headDim, headDim);
        var y = context.Attend(layer, q, k, v);                                                                   // (B, H, T, D)
        return Child<Layer>("dense").Forward(y.Transpose(1, 2).Reshape(b, t, heads * headDim));
    }
}

/// <summary>dense_4h_to_h(act(dense_h_to_4h(x))), act per hidden_act: "gelu" (erf) or the tanh forms.</summary>
public sealed class GPTNeoXMlp : Module
{
    private readonly bool tanhGelu;

    public GPTNeoXMlp(ModelConfig c, string prefix, WeightSource w)
    {
        tanhGelu = c.HiddenAct != "gelu";   // ModelConfig accepts gelu (erf) or one of its tanh forms
        AddModule("dense_h_to_4h", new Linear(w(prefix + "dense_h_to_4h.weight", [c.IntermediateSize, c.HiddenSize]), w(prefix + "dense_h_to_4h.bias", [c.IntermediateSize])));
        AddModule("dense_4h_to_h", new Linear(w(prefix + "dense_4h_to_h.weight", [c.HiddenSize, c.IntermediateSize]), w(prefix + "dense_4h_to_h.bias", [c.HiddenSize])));
    }

    public Tensor Forward(Tensor x) =>
        Child<Layer>("dense_4h_to_h").Forward(Child<Layer>("dense_h_to_4h").Forward(x).Gelu(tanhGelu));
}
