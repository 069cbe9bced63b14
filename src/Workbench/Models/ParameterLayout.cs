namespace Workbench.Models;

/// <summary>Where a parameter sits, for counts by component.</summary>
public enum ParameterGroup { Embeddings, Attention, Mlp, Norms, Head }

/// <summary>One state-dict entry: its Hugging Face name, shape ([out, in] for Linear weights) and component.</summary>
public sealed record ParameterSpec(string Name, int[] Shape, ParameterGroup Group)
{
    public long Numel => Engine.Shape.Numel(Shape);
    /// <summary>A Linear layer's weight matrix: what 4/8-bit quantisation replaces.</summary>
    public bool IsLinearWeight => Shape.Length == 2 && Group is ParameterGroup.Attention or ParameterGroup.Mlp;
    public override string ToString() => $"{Name} {Engine.Shape.Format(Shape)}";
}

/// <summary>
/// The exact parameter names and shapes of a Hugging Face *ForCausalLM, derived from its config alone, in
/// the model's state-dict order and without allocating any weight. A tied output head shares the input
/// embedding and is neither listed nor counted (as in <c>model.num_parameters()</c> and saved safetensors).
/// </summary>
public sealed class ParameterLayout
{
    public ModelConfig Config { get; }
    public IReadOnlyList<ParameterSpec> Parameters { get; }

    private ParameterLayout(ModelConfig config, List<ParameterSpec> parameters)
    {
        Config = config;
        Parameters = parameters;
    }

    public long TotalParameters => Parameters.Sum(p => p.Numel);

    public long CountOf(ParameterGroup group) => Parameters.Where(p => p.Group == group).Sum(p => p.Numel);

    public IReadOnlyDictionary<ParameterGroup, long> CountsByGroup =>
        Enum.GetValues<ParameterGroup>().ToDictionary(g => g, CountOf);

    public static ParameterLayout For(ModelConfig config) => new(config, config.ModelType switch
    {
        "llama" or "gemma" => LlamaLike(config),
        "gpt_neox" => GptNeoX(config),
        _ => throw new ArgumentException($"ParameterLayout: no layout for model_type '{config.ModelType}' ({config.Source})"),
    });

    /// <summary>LlamaForCausalLM and GemmaForCausalLM share one layout (Gemma ties its head by default).</summary>
    private static List<ParameterSpec> LlamaLike(ModelConfig c)
    {
        int d = c.HiddenSize, q = c.NumHeads * c.HeadDim, kv = c.NumKvHeads * c.HeadDim, ff = c.IntermediateSize;
        var p = new List<ParameterSpec> { new("model.embed_tokens.weight", [c.VocabSize, d], ParameterGroup.Embeddings) };
        for (int i = 0; i < c.NumLayers; i++)
        {
            var layer = $"model.layers.{i}.";
            Linear(p, layer + "self_attn.q_proj", q, d, c.AttentionBias, ParameterGroup.Attention);
            Linear(p, layer + "self_attn.k_proj", kv, d, c.AttentionBias, ParameterGroup.Attention);
            Linear(p, layer + "self_attn.v_proj", kv, d, c.AttentionBias, ParameterGroup.Attention);
            Linear(p, layer + "self_attn.o_proj", d, q, c.AttentionBias, ParameterGroup.Attention);
            Linear(p, layer + "mlp.gate_proj", ff, d, c.MlpBias, ParameterGroup.Mlp);
            Linear(p, layer + "mlp.up_proj", ff, d, c.MlpBias, ParameterGroup.Mlp);
            Linear(p, layer + "mlp.down_proj", d, ff, c.MlpBias, ParameterGroup.Mlp);
            p.Add(new(layer + "input_layernorm.weight", [d], ParameterGroup.Norms));
            p.Add(new(layer + "post_attention_layernorm.weight", [d], ParameterGroup.Norms));
        }
        p.Add(new("model.norm.weight", [d], ParameterGroup.Norms));
        if (!c.TieWordEmbeddings) p.Add(new("lm_head.weight", [c.VocabSize, d], ParameterGroup.Head));
        return p;
    }

    /// <summary>GPTNeoXForCausalLM: LayerNorms with bias, fused query_key_value, biased MLP, untied embed_out.</summary>
    private static List<ParameterSpec> GptNeoX(ModelConfig c)
    {
        int d = c.HiddenSize, ff = c.IntermediateSize;
        var p = new List<ParameterSpec> { new("gpt_neox.embed_in.weight", [c.VocabSize, d], ParameterGroup.Embeddings) };
        for (int i = 0; i < c.NumLayers; i++)
        {
            var layer = $"gpt_neox.layers.{i}.";
            LayerNorm(p, layer + "input_layernorm", d);
            LayerNorm(p, layer + "post_attention_layernorm", d);
            Linear(p, layer + "attention.query_key_value", 3 * d, d, c.AttentionBias, ParameterGroup.Attention);
            Linear(p, layer + "attention.dense", d, d, c.AttentionBias, ParameterGroup.Attention);
            Linear(p, layer + "mlp.dense_h_to_4h", ff, d, true, ParameterGroup.Mlp);
            Linear(p, layer + "mlp.dense_4h_to_h", d, ff, true, ParameterGroup.Mlp);
        }
        LayerNorm(p, "gpt_neox.final_layer_norm", d);
        if (!c.TieWordEmbeddings) p.Add(new("embed_out.weight", [c.VocabSize, d], ParameterGroup.Head));
        return p;
    }

    // nn.Linear(in, out): weight [out, in], bias [out].
    private static void Linear(List<ParameterSpec> p, string name, int outFeatures, int inFeatures, bool bias, ParameterGroup group)
    {
        p.Add(new(name + ".weight", [outFeatures, inFeatures], group));
        if (bias) p.Add(new(name + ".bias", [outFeatures], group));
    }

    private static void LayerNorm(List<ParameterSpec> p, string name, int d)
    {
        p.Add(new(name + ".weight", [d], ParameterGroup.Norms));
        p.Add(new(name + ".bias", [d], ParameterGroup.Norms));
    }
}
