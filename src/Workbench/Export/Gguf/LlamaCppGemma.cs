using Workbench.Formats.Gguf;
using Workbench.Models;

namespace Workbench.Export.Gguf;

/// <summary>
/// GemmaForCausalLM → gemma (convert_hf_to_gguf.py GemmaModel): Llama's tensor names, no q/k permutation (llama.cpp
/// rotates Gemma in the rotate-half convention, as Hugging Face does), every <c>*norm.weight</c> stored as 1 + w
/// (Gemma's RMSNorm multiplies by 1 + w; llama.cpp's by w), lm_head dropped (llama.cpp always uses token_embd).
/// No rope.freq_base or rope dimension count is written: llama.cpp's defaults (10000, head_dim) apply.
/// </summary>
public sealed class LlamaCppGemma : LlamaCppArchitecture
{
    public override string Name => "gemma";

    protected override IReadOnlyList<(string, string?)> NameMap { get; } =
        [(@"^lm_head\.weight$", null), .. LlamaCppLlama.LlamaLikeNames];

    public override void AddHyperparameters(GgufMetadata m, ModelConfig c)
    {
        m.Add("gemma.context_length", (uint)c.MaxPositions)
         .Add("gemma.embedding_length", (uint)c.HiddenSize)
         .Add("gemma.block_count", (uint)c.NumLayers)
         .Add("gemma.feed_forward_length", (uint)c.IntermediateSize)
         .Add("gemma.attention.head_count", (uint)c.NumHeads)
         .Add("gemma.attention.head_count_kv", (uint)c.NumKvHeads)
         .Add("gemma.attention.layer_norm_rms_epsilon", (float)c.NormEps)
         .Add("gemma.attention.key_length", (uint)c.HeadDim)
         .Add("gemma.attention.value_length", (uint)c.HeadDim);
    }

    public override float[] Transform(string hfName, float[] values, int[] shape, ModelConfig config)
    {
        if (!hfName.EndsWith("norm.weight")) return values;
        var shifted = new float[values.Length];
        for (int i = 0; i < values.Length; i++) shifted[i] = values[i] + 1f;
        return shifted;
    }
}
