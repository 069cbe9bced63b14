using Workbench.Engine;
using Workbench.Formats.Gguf;
using Workbench.Models;

namespace Workbench.Export.Gguf;

/// <summary>
/// LlamaForCausalLM → llama (convert_hf_to_gguf.py LlamaModel). Hugging Face stores q_proj/k_proj rows in the
/// rotate-half RoPE convention (dimension i pairs with i + d/2); llama.cpp's llama rotates neighbouring pairs
/// (2i, 2i + 1), so the converter permutes each head's rows back (<c>LlamaModel.permute</c>):
/// <code>W.reshape(n_head, 2, d/2, in).swapaxes(1, 2).reshape(W.shape)   // output row (h, j, k) ← input row (h, k, j)</code>
/// with n_head the query heads for q_proj and the key/value heads for k_proj. A tied head is not written:
/// llama.cpp falls back to token_embd.
/// </summary>
public sealed class LlamaCppLlama : LlamaCppArchitecture
{
    public override string Name => "llama";

    protected override IReadOnlyList<(string, string?)> NameMap { get; } = LlamaLikeNames;

    /// <summary>The tensor names Llama and Gemma share (gguf-py tensor_mapping.py).</summary>
    internal static readonly (string, string?)[] LlamaLikeNames =
    [
        (@"^model\.embed_tokens\.(weight)$", "token_embd.$1"),
        (@"^model\.layers\.(\d+)\.self_attn\.q_proj\.(weight|bias)$", "blk.$1.attn_q.$2"),
        (@"^model\.layers\.(\d+)\.self_attn\.k_proj\.(weight|bias)$", "blk.$1.attn_k.$2"),
        (@"^model\.layers\.(\d+)\.self_attn\.v_proj\.(weight|bias)$", "blk.$1.attn_v.$2"),
        (@"^model\.layers\.(\d+)\.self_attn\.o_proj\.(weight|bias)$", "blk.$1.attn_output.$2"),
        (@"^model\.layers\.(\d+)\.mlp\.gate_proj\.(weight|bias)$", "blk.$1.ffn_gate.$2"),
        (@"^model\.layers\.(\d+)\.mlp\.up_proj\.(weight|bias)$", "blk.$1.ffn_up.$2"),
        (@"^model\.layers\.(\d+)\.mlp\.down_proj\.(weight|bias)$", "blk.$1.ffn_down.$2"),
        (@"^model\.layers\.(\d+)\.input_layernorm\.(weight)$", "blk.$1.attn_norm.$2"),
        (@"^model\.layers\.(\d+)\.post_attention_layernorm\.(weight)$", "blk.$1.ffn_norm.$2"),
        (@"^model\.norm\.(weight)$", "output_norm.$1"),
        (@"^lm_head\.(weight)$", "output.$1"),
    ];

    /// <summary>TextModel.set_gguf_parameters, then LlamaModel's vocab_size and rope dimension count.</summary>
    public override void AddHyperparameters(GgufMetadata m, ModelConfig c)
    {
        m.Add("llama.block_count", (uint)c.NumLayers)
         .Add("llama.context_length", (uint)c.MaxPositions)
         .Add("llama.embedding_length", (uint)c.HiddenSize)
         .Add("llama.feed_forward_length", (uint)c.IntermediateSize)
         .Add("llama.attention.head_count", (uint)c.NumHeads)
         .Add("llama.attention.head_count_kv", (uint)c.NumKvHeads);
        if (c.RopeScaling.Type == RopeScalingType.Linear)
            m.Add("llama.rope.scaling.type", "linear").Add("llama.rope.scaling.factor", c.RopeScaling.Factor);
        m.Add("llama.rope.freq_base", (float)c.RopeTheta)
         .Add("llama.attention.layer_norm_rms_epsilon", (float)c.NormEps);
        if (c.HeadDim != c.HiddenSize / c.NumHeads)
            m.Add("llama.attention.key_length", (uint)c.HeadDim).Add("llama.attention.value_length", (uint)c.HeadDim);
        m.Add("llama.vocab_size", (uint)c.VocabSize)
         .Add("llama.rope.dimension_count", (uint)c.HeadDim);
    }

    public override float[] Transform(string hfName, float[] values, int[] shape, ModelConfig c)
    {
        if (hfName.EndsWith("q_proj.weight") || hfName.EndsWith("q_proj.bias")) return UnpermuteRope(values, shape[0], c.NumHeads);
        if (hfName.EndsWith("k_proj.weight") || hfName.EndsWith("k_proj.bias")) return UnpermuteRope(values, shape[0], c.NumKvHeads);
        return values;
    }

    /// <summary>Row (h, j, k) of the result is row (h, k, j) of the input, viewed as [heads, 2, d/2].</summary>
    private static float[] UnpermuteRope(float[] values, int rows, int heads)
    {
        int perHead = rows / heads, half = perHead / 2;
        return GatherRows(values, rows, r =>
        {
            int h = r / perHead, j = r % perHead / 2, k = r % 2;
            return h * perHead + k * half + j;
        });
    }

    /// <summary>
    /// Llama 3.1 rope scaling: LlamaModel.generate_extra_tensors writes rope_freqs.weight, the divisor of each
    /// inverse frequency f_i = θ^(−2i/d): 1 where the wavelength 2π/f is under L/high, <c>factor</c> over L/low,
    /// 1 / ((1 − s)/factor + s) between, s = (L / wavelength − low) / (high − low), L the original context.
    /// </summary>
    public override IEnumerable<(string Name, float[] Values)> ExtraTensors(ModelConfig c)
    {
        if (c.RopeScaling.Type != RopeScalingType.Llama3) yield break;
        var s = c.RopeScaling;
        float lowWavelen = s.OriginalMaxPositions / s.LowFreqFactor, highWavelen = s.OriginalMaxPositions / s.HighFreqFactor;
        var factors = new float[c.HeadDim / 2];
        for (int i = 0; i < factors.Length; i++)
        {
            float freq = 1f / MathF.Pow((float)c.RopeTheta, 2f * i / c.HeadDim);
            float wavelen = (float)(2 * Math.PI) / freq;
            factors[i] = wavelen < highWavelen ? 1f
                : wavelen > lowWavelen ? s.Factor
                : 1f / ((1 - (s.OriginalMaxPositions / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor)) / s.Factor
                        + (s.OriginalMaxPositions / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor));
        }
        yield return ("rope_freqs.weight", factors);
    }
}
