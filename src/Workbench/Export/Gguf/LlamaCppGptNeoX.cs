using Workbench.Formats.Gguf;
using Workbench.Models;

namespace Workbench.Export.Gguf;

/// <summary>
/// GPTNeoXForCausalLM → gptneox (convert_hf_to_gguf.py GPTNeoXModel). Hugging Face's fused query_key_value
/// interleaves the heads, rows ordered [head, {q, k, v}, head_dim]; llama.cpp splits the fused output as
/// [{q, k, v}, head, head_dim], so the converter regroups the rows (weight and bias alike):
/// <code>W.reshape(n_head, 3, d, in) → cat(W[:, 0], W[:, 1], W[:, 2])   // output row (s, h, i) ← input row (h, s, i)</code>
/// rope.dimension_count = int(rotary_pct · hidden/heads); no rope.freq_base (llama.cpp's default 10000). The converter's
/// GPTNeoXModel writes no general.file_type (llama.cpp then guesses it from the tensors); we write it for every
/// architecture alike.
/// </summary>
public sealed class LlamaCppGptNeoX : LlamaCppArchitecture
{
    public override string Name => "gptneox";

    protected override IReadOnlyList<(string, string?)> NameMap { get; } =
    [
        (@"^gpt_neox\.embed_in\.(weight)$", "token_embd.$1"),
        (@"^gpt_neox\.layers\.(\d+)\.input_layernorm\.(weight|bias)$", "blk.$1.attn_norm.$2"),
        (@"^gpt_neox\.layers\.(\d+)\.attention\.query_key_value\.(weight|bias)$", "blk.$1.attn_qkv.$2"),
        (@"^gpt_neox\.layers\.(\d+)\.attention\.dense\.(weight|bias)$", "blk.$1.attn_output.$2"),
        (@"^gpt_neox\.layers\.(\d+)\.post_attention_layernorm\.(weight|bias)$", "blk.$1.ffn_norm.$2"),
        (@"^gpt_neox\.layers\.(\d+)\.mlp\.dense_h_to_4h\.(weight|bias)$", "blk.$1.ffn_up.$2"),
        (@"^gpt_neox\.layers\.(\d+)\.mlp\.dense_4h_to_h\.(weight|bias)$", "blk.$1.ffn_down.$2"),
        (@"^gpt_neox\.final_layer_norm\.(weight|bias)$", "output_norm.$1"),
        (@"^embed_out\.(weight)$", "output.$1"),
    ];

    public override void AddHyperparameters(GgufMetadata m, ModelConfig c)
    {
        m.Add("gptneox.context_length", (uint)c.MaxPositions)
         .Add("gptneox.embedding_length", (uint)c.HiddenSize)
         .Add("gptneox.block_count", (uint)c.NumLayers)
         .Add("gptneox.feed_forward_length", (uint)c.IntermediateSize)
         .Add("gptneox.rope.dimension_count", (uint)(c.RotaryPct * (c.HiddenSize / c.NumHeads)))
         .Add("gptneox.attention.head_count", (uint)c.NumHeads)
         .Add("gptneox.use_parallel_residual", c.UseParallelResidual)
         .Add("gptneox.attention.layer_norm_epsilon", (float)c.NormEps);
    }

    public override float[] Transform(string hfName, float[] values, int[] shape, ModelConfig c)
    {
        if (!hfName.Contains(".attention.query_key_value.")) return values;
        int rows = shape[0], headDim = c.HiddenSize / c.NumHeads;
        // output row r = (s, h, i) over [3, heads, headDim]; input row (h, s, i) over [heads, 3, headDim]
        return GatherRows(values, rows, r =>
        {
            int s = r / c.HiddenSize, h = r % c.HiddenSize / headDim, i = r % headDim;
            return (h * 3 + s) * headDim + i;
        });
    }
}
