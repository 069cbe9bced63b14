using TorchSharp;
using Workbench.Models;
using Workbench.Torch.Layers;
using static TorchSharp.torch;

namespace Workbench.Torch.Models;

/// <summary>
/// GPTNeoXForCausalLM (Pythia, Polyglot-ko) on libtorch with Hugging Face's names: gpt_neox.embed_in,
/// gpt_neox.layers.{i}.{input_layernorm, post_attention_layernorm, attention.{query_key_value, dense},
/// mlp.{dense_h_to_4h, dense_4h_to_h}}, gpt_neox.final_layer_norm, embed_out (absent when tied).
/// </summary>
public sealed class TorchGptNeoX : TorchCausalLM
{
    public TorchGptNeoX(ModelConfig c, TorchWeightSource w, Device device)
        : base(c, new("gpt_neox.embed_in", "gpt_neox.layers", "gpt_neox.final_layer_norm", "embed_out"), device)
    {
        var model = Add("gpt_neox", new TorchContainer());
        model.Add("embed_in", new TorchEmbedding(w("gpt_neox.embed_in.weight", [c.VocabSize, c.HiddenSize])));
        var layers = model.Add("layers", new TorchContainer());
        for (int i = 0; i < c.NumLayers; i++)
            layers.Add(i.ToString(), new TorchGptNeoXLayer(c, i, $"gpt_neox.layers.{i}.", w));
        model.Add("final_layer_norm", TorchGptNeoXLayer.Norm(c, "gpt_neox.final_layer_norm", w));
        if (!c.TieWordEmbeddings) Add("embed_out", new FrozenLinear(w("embed_out.weight", [c.VocabSize, c.HiddenSize]), null));
    }
}

/// <summary>
/// One GPT-NeoX block. Parallel residual: x + attn(ln1(x)) + mlp(ln2(x)); sequential: a = x + attn(ln1(x)); a + mlp(ln2(a)).
/// The fused projection's rows are per-head interleaved [q | k | v]: (B, T, 3C) viewed as (B, T, H, 3D).
/// </summary>
public sealed class TorchGptNeoXLayer : TorchDecoderLayer
{
    private readonly int layer, heads, headDim;
    private readonly bool parallelResidual, tanhGelu;

    public TorchGptNeoXLayer(ModelConfig c, int layer, string prefix, TorchWeightSource w) : base("GPTNeoXLayer")
    {
        (this.layer, heads, headDim, parallelResidual) = (layer, c.NumHeads, c.HeadDim, c.UseParallelResidual);
        tanhGelu = c.HiddenAct switch
        {
            "gelu" => false,
            "gelu_new" or "gelu_fast" or "gelu_pytorch_tanh" => true,
            _ => throw new NotSupportedException($"{c.Source}: hidden_act '{c.HiddenAct}' is not supported for gpt_neox (gelu, gelu_new, gelu_fast, gelu_pytorch_tanh)"),
        };
        FrozenLinear Linear(string name, int output, int input, bool bias) =>
            new(w(prefix + name + ".weight", [output, input]), bias ? w(prefix + name + ".bias", [output]) : null);
        Add("input_layernorm", Norm(c, prefix + "input_layernorm", w));
        Add("post_attention_layernorm", Norm(c, prefix + "post_attention_layernorm", w));
        var attention = Add("attention", new TorchContainer());
        attention.Add("query_key_value", Linear("attention.query_key_value", 3 * c.HiddenSize, c.HiddenSize, c.AttentionBias));
        attention.Add("dense", Linear("attention.dense", c.HiddenSize, c.HiddenSize, c.AttentionBias));
        var mlp = Add("mlp", new TorchContainer());
        mlp.Add("dense_h_to_4h", Linear("mlp.dense_h_to_4h", c.IntermediateSize, c.HiddenSize, true));
        mlp.Add("dense_4h_to_h", Linear("mlp.dense_4h_to_h", c.HiddenSize, c.IntermediateSize, true));
    }

    internal static TorchLayerNorm Norm(ModelConfig c, string name, TorchWeightSource w) =>
        new(w(name + ".weight", [c.HiddenSize]), w(name + ".bias", [c.HiddenSize]), c.NormEps);

    private Tensor Call(string path, Tensor x) => ((nn.Module<Tensor, Tensor>)this.Find(path)).call(x);

    /// <summary>x (B, T, C) → (B, T, C).</summary>
    public override Tensor Forward(Tensor x, TorchRope rope, TorchAttentionContext context)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var qkv = Call("attention.query_key_value", Call("input_layernorm", x)).reshape(b, t, heads, 3 * headDim).transpose(1, 2); // (B, H, T, 3D)
        var q = rope.Apply(qkv.narrow(3, 0, headDim), context.Positions);
        var k = rope.Apply(qkv.narrow(3, headDim, headDim), context.Positions);
        var y = context.Attend(layer, q, k, qkv.narrow(3, 2 * headDim, headDim));                                                // (B, H, T, D)
        var attn = Call("attention.dense", y.transpose(1, 2).reshape(b, t, heads * headDim));
        Tensor Mlp(Tensor h)
        {
            var up = Call("mlp.dense_h_to_4h", h);
            return Call("mlp.dense_4h_to_h", tanhGelu ? nn.functional.gelu(up, TorchSharp.Modules.GELU.Approximate.tanh) : nn.functional.gelu(up));
        }
        if (parallelResidual) return (Mlp(Call("post_attention_layernorm", x)) + attn + x).MoveToOuterDisposeScope();
        attn = attn + x;
        return (Mlp(Call("post_attention_layernorm", attn)) + attn).MoveToOuterDisposeScope();
    }
}
