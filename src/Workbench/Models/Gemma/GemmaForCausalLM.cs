using Workbench.Engine;
using Workbench.Engine.Nn;
using Workbench.Models.Llama;

namespace Workbench.Models.Gemma;

/// <summary>
/// GemmaForCausalLM with Hugging Face parameter names (Llama's: model.embed_tokens, model.layers.{i}.…, model.norm;
/// the head is tied to the embedding unless tie_word_embeddings is false, then lm_head). It differs from Llama in
/// three places: embeddings are scaled by √hidden, rounded to the weights' dtype as transformers does
/// (normalizer = torch.tensor(hidden**0.5, dtype)); every RMSNorm scales by (1 + w); the feed-forward is GeGLU with
/// the tanh GELU. head_dim comes from the config (256 for gemma-2b/7b, not hidden/heads); gemma-2b has one
/// key/value head (multi-query attention). Shapes: B batch, T tokens, C hidden, V vocab.
/// </summary>
public sealed class GemmaForCausalLM : CausalLMModule
{
    /// <summary>√hidden as the embedding dtype holds it (45.25 for hidden 2048 in bf16).</summary>
    public float EmbeddingScale { get; }

    private Module Model => Child<Module>("model");
    public Embedding EmbedTokens => Model.Child<Embedding>("embed_tokens");
    public ModuleList<LlamaDecoderLayer> Layers => Model.Child<ModuleList<LlamaDecoderLayer>>("layers");
    public RmsNorm Norm => Model.Child<RmsNorm>("norm");

    public GemmaForCausalLM(ModelConfig config, WeightSource weights) : base(config, LlamaForCausalLM.Parts)
    {
        var model = AddModule("model", new Container());
        var embed = model.Add("embed_tokens", new Embedding(weights("model.embed_tokens.weight", [config.VocabSize, config.HiddenSize])));
        var layers = model.Add("layers", new ModuleList<LlamaDecoderLayer>());
        for (int i = 0; i < config.NumLayers; i++)
            layers.Add(new LlamaDecoderLayer(config, i, $"model.layers.{i}.", weights, unitOffsetNorms: true));
        model.Add("norm", new RmsNorm(weights("model.norm.weight", [config.HiddenSize]), (float)config.NormEps, unitOffset: true));
        if (!config.TieWordEmbeddings)
            AddModule("lm_head", new Linear(weights("lm_head.weight", [config.VocabSize, config.HiddenSize])));
        EmbeddingScale = RoundTo(embed.Weight.DType, MathF.Sqrt(config.HiddenSize));
    }

    /// <summary>x = embed(ids) · normalizer</summary>
    protected override Tensor Embed(int[] ids, int batch, int seq) => base.Embed(ids, batch, seq).Scale(EmbeddingScale);

    /// <summary>The value <paramref name="dtype"/> stores for <paramref name="value"/> (round to nearest even).</summary>
    private static float RoundTo(DType dtype, float value) => dtype switch
    {
        DType.BF16 => DTypeInfo.BF16ToFloat(DTypeInfo.FloatToBF16(value)),
        DType.F16 => (float)(Half)value,
        _ => value,
    };
}
