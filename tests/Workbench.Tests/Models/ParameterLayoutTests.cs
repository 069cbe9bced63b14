using Workbench.Engine;
using Workbench.Formats;
using Workbench.Models;
using Workbench.Tests.Support;

namespace Workbench.Tests.Models;

/// <summary>Full-size models checked by shape and count against the published figures, without allocating weights.</summary>
public class ParameterLayoutTests
{
    private static ParameterLayout Layout(string name) => ParameterLayout.For(ModelConfig.Load(RepoPaths.Data(name)));

    [Theory]
    [InlineData("configs/polyglot-ko-5.8b", 5_885_059_072L)] // model card n_parameters
    [InlineData("configs/Llama-2-7b-hf", 6_738_415_616L)]
    [InlineData("configs/Meta-Llama-3-8B", 8_030_261_248L)]
    [InlineData("configs/Llama-3.1-8B", 8_030_261_248L)]
    [InlineData("configs/gemma-2b", 2_506_172_416L)]
    [InlineData("models/stories260K", 260_032L)]
    public void ParameterCountsEqualThePublishedOnes(string config, long expected)
    {
        var layout = Layout(config);
        Assert.Equal(expected, layout.TotalParameters);
        Assert.Equal(expected, layout.CountsByGroup.Values.Sum());
    }

    [Fact]
    public void PolyglotKo58BHasTheGptNeoXStateDict()
    {
        var layout = Layout("configs/polyglot-ko-5.8b");
        var p = layout.Parameters.ToDictionary(x => x.Name, x => x.Shape);
        Assert.Equal(2 + 28 * 12 + 2, p.Count);
        Assert.Equal([30080, 4096], p["gpt_neox.embed_in.weight"]);
        Assert.Equal([12288, 4096], p["gpt_neox.layers.0.attention.query_key_value.weight"]);
        Assert.Equal([12288], p["gpt_neox.layers.27.attention.query_key_value.bias"]);
        Assert.Equal([4096, 4096], p["gpt_neox.layers.3.attention.dense.weight"]);
        Assert.Equal([16384, 4096], p["gpt_neox.layers.5.mlp.dense_h_to_4h.weight"]);
        Assert.Equal([4096, 16384], p["gpt_neox.layers.5.mlp.dense_4h_to_h.weight"]);
        Assert.Equal([4096], p["gpt_neox.layers.9.post_attention_layernorm.bias"]);
        Assert.Equal([4096], p["gpt_neox.final_layer_norm.weight"]);
        Assert.Equal([30080, 4096], p["embed_out.weight"]);
        // State-dict order of GPTNeoXLayer: the two LayerNorms, then attention, then MLP.
        Assert.Equal(["gpt_neox.embed_in.weight", "gpt_neox.layers.0.input_layernorm.weight", "gpt_neox.layers.0.input_layernorm.bias",
                      "gpt_neox.layers.0.post_attention_layernorm.weight", "gpt_neox.layers.0.post_attention_layernorm.bias",
                      "gpt_neox.layers.0.attention.query_key_value.weight"], layout.Parameters.Take(6).Select(x => x.Name));
        Assert.Equal("embed_out.weight", layout.Parameters[^1].Name);
        // Per-component counts: 28 layers × (3d² + 3d + d² + d) attention, 28 × (2·d·ff + ff + d) MLP, 4d per layer + 2d final norms.
        Assert.Equal(123_207_680, layout.CountOf(ParameterGroup.Embeddings));
        Assert.Equal(28L * (4 * 4096L * 4096 + 4 * 4096), layout.CountOf(ParameterGroup.Attention));
        Assert.Equal(28L * (2 * 4096L * 16384 + 16384 + 4096), layout.CountOf(ParameterGroup.Mlp));
        Assert.Equal(28L * 4 * 4096 + 2 * 4096, layout.CountOf(ParameterGroup.Norms));
        Assert.Equal(123_207_680, layout.CountOf(ParameterGroup.Head));
    }

    [Fact]
    public void Llama3UsesGroupedQueryAttention()
    {
        var p = Layout("configs/Meta-Llama-3-8B").Parameters.ToDictionary(x => x.Name, x => x.Shape);
        Assert.Equal([128256, 4096], p["model.embed_tokens.weight"]);
        Assert.Equal([4096, 4096], p["model.layers.0.self_attn.q_proj.weight"]);
        Assert.Equal([1024, 4096], p["model.layers.31.self_attn.k_proj.weight"]);
        Assert.Equal([1024, 4096], p["model.layers.31.self_attn.v_proj.weight"]);
        Assert.Equal([14336, 4096], p["model.layers.7.mlp.gate_proj.weight"]);
        Assert.Equal([4096, 14336], p["model.layers.7.mlp.down_proj.weight"]);
        Assert.Equal([128256, 4096], p["lm_head.weight"]);
        Assert.Equal(1 + 32 * 9 + 2, p.Count);
        Assert.DoesNotContain(p.Keys, k => k.EndsWith(".bias"));
    }

    [Fact]
    public void GemmaTiesItsHeadAndUsesWideHeads()
    {
        var layout = Layout("configs/gemma-2b");
        var p = layout.Parameters.ToDictionary(x => x.Name, x => x.Shape);
        Assert.DoesNotContain("lm_head.weight", p.Keys);
        Assert.Equal(0, layout.CountOf(ParameterGroup.Head));
        Assert.Equal([2048, 2048], p["model.layers.0.self_attn.q_proj.weight"]); // 8 heads × 256
        Assert.Equal([256, 2048], p["model.layers.17.self_attn.k_proj.weight"]); // 1 KV head (multi-query)
        Assert.Equal([2048, 2048], p["model.layers.0.self_attn.o_proj.weight"]);
        Assert.Equal([256000, 2048], p["model.embed_tokens.weight"]);
    }

    [Fact]
    public void Stories260KLayoutEqualsItsSafetensorsHeader()
    {
        var layout = Layout("models/stories260K");
        using var reader = SafeTensorsReader.Open(RepoPaths.Data("models/stories260K/model.safetensors"));
        var expected = layout.Parameters.Select(p => $"{p.Name} {Shape.Format(p.Shape)}").Order(StringComparer.Ordinal);
        var actual = reader.Entries.Select(e => $"{e.Name} {Shape.Format(e.Shape)}").Order(StringComparer.Ordinal);
        Assert.Equal(expected, actual);
        Assert.True(LayoutCheck.Compare(layout, reader.Entries).Matches);
    }

    [Fact]
    public void LayoutCheckSortsOutMissingWrongShapeUnexpectedAndBuffers()
    {
        var layout = Layout("models/stories260K");
        using var reader = SafeTensorsReader.Open(RepoPaths.Data("models/stories260K/model.safetensors"));
        var entries = reader.Entries
            .Where(e => e.Name != "model.norm.weight")
            .Select(e => e.Name == "model.layers.2.self_attn.k_proj.weight" ? e with { Shape = [64, 64] } : e)
            .Append(new SafeTensorsEntry("model.layers.0.self_attn.rotary_emb.inv_freq", "F32", [4], 0, 16))
            .Append(new SafeTensorsEntry("lm_head.weight", "F32", [512, 64], 0, 131072)) // a tied copy: ignored
            .Append(new SafeTensorsEntry("model.layers.9.mlp.up_proj.weight", "F32", [172, 64], 0, 44032))
            .ToList();
        var cmp = LayoutCheck.Compare(layout, entries);
        Assert.False(cmp.Matches);
        Assert.Equal(["model.norm.weight"], cmp.Missing.Select(m => m.Name));
        Assert.Equal(["model.layers.2.self_attn.k_proj.weight"], cmp.WrongShape.Select(w => w.Expected.Name));
        Assert.Equal(["model.layers.9.mlp.up_proj.weight"], cmp.Unexpected.Select(u => u.Name));
        Assert.Equal(["model.layers.0.self_attn.rotary_emb.inv_freq", "lm_head.weight"], cmp.Ignored.Select(i => i.Name));
        Assert.Contains("wrong shape: model.layers.2.self_attn.k_proj.weight is [64, 64], expected [32, 64]", cmp.Problems());
    }

    [Fact]
    public void MemoryEstimatesFollowTheDtypeAndNf4Packing()
    {
        var layout = Layout("configs/Llama-2-7b-hf");
        Assert.Equal(4 * 6_738_415_616L, MemoryEstimate.Weights(layout, "float32"));
        Assert.Equal(2 * 6_738_415_616L, MemoryEstimate.Weights(layout, "bfloat16"));
        // NF4 + double quantisation: 32 layers × 7 Linear weights; each n-element matrix takes n/2 bytes of codes,
        // n/64 one-byte absmax codes and 4 bytes per 256 absmax. Embedding, head and norms stay bf16.
        long linear = 32L * (4 * 4096L * 4096 + 3 * 4096L * 11008);
        long blocks4096 = 4096L * 4096 / 64, blocks11008 = 4096L * 11008 / 64;
        long absmax = 32L * (4 * (blocks4096 + blocks4096 / 256 * 4) + 3 * (blocks11008 + blocks11008 / 256 * 4));
        long kept = 2 * (2 * 32000L * 4096 + 65 * 4096L);
        Assert.Equal(linear / 2 + absmax + kept, MemoryEstimate.Nf4(layout));
    }
}
