using Workbench.Engine;
using Workbench.Formats;

namespace Workbench.Models;

public enum NormKind { RmsNorm, LayerNorm }

/// <summary>
/// One flat record for the decoder-only families we load, read from a Hugging Face <c>config.json</c>.
/// Fields absent from the file take transformers' defaults for that <c>model_type</c>, except the shape
/// fields (hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, vocab_size): transformers'
/// defaults for those describe one particular model, so a config without them is rejected as malformed.
/// </summary>
public sealed record ModelConfig
{
    public required string ModelType { get; init; }
    /// <summary><c>architectures[0]</c>, or the family's CausalLM class when absent.</summary>
    public required string Architecture { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public required int NumKvHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int VocabSize { get; init; }
    public required int MaxPositions { get; init; }
    public required double RopeTheta { get; init; }
    /// <summary><c>rope_scaling</c> (transformers 4) or <c>rope_parameters</c> (5): how RoPE's frequencies are stretched.</summary>
    public RopeScaling RopeScaling { get; init; } = RopeScaling.None;
    /// <summary>Fraction of each head's dimensions that RoPE rotates (GPT-NeoX rotary_pct; 1 for Llama/Gemma).</summary>
    public required double RotaryPct { get; init; }
    public required double NormEps { get; init; }
    public required NormKind Norm { get; init; }
    public required bool TieWordEmbeddings { get; init; }
    /// <summary>GPT-NeoX: x + attn(ln1(x)) + mlp(ln2(x)) instead of two sequential residual steps.</summary>
    public required bool UseParallelResidual { get; init; }
    public required bool AttentionBias { get; init; }
    public required bool MlpBias { get; init; }
    public required string HiddenAct { get; init; }
    /// <summary>The dtype the weights were saved in (<c>torch_dtype</c>, or <c>dtype</c> in newer files).</summary>
    public required string TorchDtype { get; init; }
    public int? BosTokenId { get; init; }
    public int[] EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    public double InitializerRange { get; init; } = 0.02;
    /// <summary>The file this config was read from (for messages).</summary>
    public string Source { get; init; } = "";

    /// <summary>Dimensions per head that RoPE rotates: int(head_dim · rotary_pct), as transformers computes it.</summary>
    public int RotaryDim => (int)(HeadDim * RotaryPct);

    public const string FileName = "config.json";

    private static readonly Dictionary<string, Func<JsonFields, ModelConfig>> Families = new()
    {
        ["llama"] = Llama,
        ["gpt_neox"] = GptNeoX,
        ["gemma"] = Gemma,
    };

    public static IReadOnlyCollection<string> SupportedModelTypes => Families.Keys;

    /// <summary>Reads <paramref name="path"/>: a config.json file or a model directory holding one.</summary>
    public static ModelConfig Load(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        if (!File.Exists(file)) throw new FileNotFoundException($"{file}: no such file", file);
        return Parse(TextFile.ReadAll(file), file);
    }

    /// <summary>Parses config.json text; <paramref name="source"/> names it in errors.</summary>
    public static ModelConfig Parse(string json, string source)
    {
        var c = JsonFields.Parse(json, source, (file, field, problem) => new ModelConfigException(file, field, problem));
        var supported = string.Join(", ", Families.Keys);
        var modelType = c.String("model_type") ?? throw c.Error("model_type", $"is required; supported: {supported}");
        if (!Families.TryGetValue(modelType, out var parse))
            throw c.Error("model_type", $"'{modelType}' is not supported; supported: {supported}");
        var config = parse(c) with { Source = source };
        var activations = Activations[modelType];
        if (!activations.Contains(config.HiddenAct))
            throw c.Error(modelType == "gemma" ? "hidden_activation" : "hidden_act", $"'{config.HiddenAct}' is not supported for {modelType} ({string.Join(", ", activations)})");
        return config;
    }

    /// <summary>
    /// The feed-forward activations the engine implements per model_type: Llama's gated SiLU (SwiGLU); Gemma's gated
    /// tanh GELU (GeGLU); GPT-NeoX's exact (erf) GELU or its tanh forms.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string[]> Activations = new Dictionary<string, string[]>
    {
        ["llama"] = ["silu", "swish"],
        ["gemma"] = ["gelu_pytorch_tanh", "gelu_new", "gelu_fast"],
        ["gpt_neox"] = ["gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh"],
    };

    // transformers LlamaConfig defaults.
    private static ModelConfig Llama(JsonFields c)
    {
        var (hidden, heads) = (Positive(c, "hidden_size"), Positive(c, "num_attention_heads"));
        return Common(c, "llama", "LlamaForCausalLM", NormKind.RmsNorm) with
        {
            NumKvHeads = KvHeads(c, heads, heads),
            HeadDim = c.Has("head_dim") ? Positive(c, "head_dim") : DividedHeads(c, hidden, heads),
            MaxPositions = Positive(c, "max_position_embeddings", 2048),
            RopeTheta = Theta(c, 10000.0),
            RotaryPct = c.Double("partial_rotary_factor", 1.0),
            NormEps = c.Double("rms_norm_eps", 1e-6),
            TieWordEmbeddings = c.Bool("tie_word_embeddings", false),
            UseParallelResidual = false,
            AttentionBias = c.Bool("attention_bias", false),
            MlpBias = c.Bool("mlp_bias", false),
            HiddenAct = c.String("hidden_act", "silu"),
            BosTokenId = c.Int("bos_token_id") ?? 1,
            EosTokenIds = c.IntList("eos_token_id") ?? [2],
        };
    }

    // transformers GPTNeoXConfig defaults; older files say rotary_emb_base/rotary_pct, newer rope_theta/partial_rotary_factor.
    private static ModelConfig GptNeoX(JsonFields c)
    {
        var (hidden, heads) = (Positive(c, "hidden_size"), Positive(c, "num_attention_heads"));
        return Common(c, "gpt_neox", "GPTNeoXForCausalLM", NormKind.LayerNorm) with
        {
            NumKvHeads = heads,
            HeadDim = DividedHeads(c, hidden, heads),
            MaxPositions = Positive(c, "max_position_embeddings", 2048),
            RopeTheta = Theta(c, c.Double("rotary_emb_base", 10000.0)),
            RotaryPct = c.Double("rotary_pct", c.Double("partial_rotary_factor", 0.25)),
            NormEps = c.Double("layer_norm_eps", 1e-5),
            TieWordEmbeddings = c.Bool("tie_word_embeddings", false),
            UseParallelResidual = c.Bool("use_parallel_residual", true),
            AttentionBias = c.Bool("attention_bias", true),
            MlpBias = true,
            HiddenAct = c.String("hidden_act", "gelu"),
            BosTokenId = c.Int("bos_token_id") ?? 0,
            EosTokenIds = c.IntList("eos_token_id") ?? [2],
        };
    }

    // transformers GemmaConfig defaults. The MLP uses hidden_activation, falling back to the tanh GeLU whatever
    // hidden_act says (the original gemma-2b config says "gelu" but the model was trained with the approximation).
    private static ModelConfig Gemma(JsonFields c)
    {
        int heads = Positive(c, "num_attention_heads");
        return Common(c, "gemma", "GemmaForCausalLM", NormKind.RmsNorm) with
        {
            NumKvHeads = KvHeads(c, heads, 16),
            HeadDim = Positive(c, "head_dim", 256),
            MaxPositions = Positive(c, "max_position_embeddings", 8192),
            RopeTheta = Theta(c, 10000.0),
            RotaryPct = 1.0,
            NormEps = c.Double("rms_norm_eps", 1e-6),
            TieWordEmbeddings = c.Bool("tie_word_embeddings", true),
            UseParallelResidual = false,
            AttentionBias = c.Bool("attention_bias", false),
            MlpBias = false,
            HiddenAct = c.String("hidden_activation", "gelu_pytorch_tanh"),
            BosTokenId = c.Int("bos_token_id") ?? 2,
            EosTokenIds = c.IntList("eos_token_id") ?? [1],
            PadTokenId = c.Int("pad_token_id") ?? 0,
        };
    }

    /// <summary>Fields read the same way by every family; the family fills in the rest.</summary>
    private static ModelConfig Common(JsonFields c, string modelType, string causalLm, NormKind norm) => new()
    {
        ModelType = modelType,
        Architecture = c.StringList("architectures")?.FirstOrDefault() ?? causalLm,
        HiddenSize = Positive(c, "hidden_size"),
        IntermediateSize = Positive(c, "intermediate_size"),
        NumLayers = Positive(c, "num_hidden_layers"),
        NumHeads = Positive(c, "num_attention_heads"),
        VocabSize = Positive(c, "vocab_size"),
        Norm = norm,
        TorchDtype = c.String("torch_dtype") ?? c.String("dtype", "float32"),
        PadTokenId = c.Int("pad_token_id"),
        InitializerRange = c.Double("initializer_range", 0.02),
        RopeScaling = Scaling(c),
        // Set by each family:
        NumKvHeads = 0, HeadDim = 0, MaxPositions = 0, RopeTheta = 0, RotaryPct = 0, NormEps = 0,
        TieWordEmbeddings = false, UseParallelResidual = false, AttentionBias = false, MlpBias = false, HiddenAct = "",
    };

    // transformers 5 moved rope_theta into rope_parameters.
    private static double Theta(JsonFields c, double fallback) =>
        c.Double("rope_theta", c.Object("rope_parameters")?.Double("rope_theta", fallback) ?? fallback);

    // rope_type (formerly "type") and its fields, as transformers' modeling_rope_utils reads them.
    private static RopeScaling Scaling(JsonFields c)
    {
        var r = c.Object("rope_parameters") ?? c.Object("rope_scaling");
        if (r is null) return RopeScaling.None;
        var type = r.String("rope_type") ?? r.String("type", "default");
        float Number(string field)
        {
            double v = r.Double(field) ?? throw r.Missing(field);
            return v > 0 ? (float)v : throw r.Error(field, $"must be positive, found {v}");
        }
        RopeScaling Llama3()
        {
            float low = Number("low_freq_factor"), high = Number("high_freq_factor");
            if (high <= low) throw r.Error("high_freq_factor", $"{high} must be greater than low_freq_factor {low}");
            return new(RopeScalingType.Llama3, Number("factor"), low, high, Positive(r, "original_max_position_embeddings"));
        }
        return type switch
        {
            // dynamic NTK changes the frequencies only past max_position_embeddings, where the RoPE tables end
            "default" or "dynamic" => RopeScaling.None,
            "linear" => new RopeScaling(RopeScalingType.Linear, Number("factor")),
            "llama3" => Llama3(),
            _ => throw r.Error("rope_type", $"'{type}' is not supported; supported: default, linear, dynamic, llama3"),
        };
    }

    private static int KvHeads(JsonFields c, int heads, int fallback)
    {
        int kv = Positive(c, "num_key_value_heads", fallback);
        return heads % kv == 0 ? kv : throw c.Error("num_key_value_heads", $"{kv} does not divide num_attention_heads {heads}");
    }

    /// <summary>A positive integer; required when <paramref name="fallback"/> is null.</summary>
    private static int Positive(JsonFields c, string field, int? fallback = null)
    {
        int value = c.Int(field) ?? fallback ?? throw c.Missing(field);
        return value > 0 ? value : throw c.Error(field, $"must be positive, found {value}");
    }

    private static int DividedHeads(JsonFields c, int hidden, int heads) => hidden % heads == 0
        ? hidden / heads : throw c.Error("num_attention_heads", $"{heads} does not divide hidden_size {hidden}");

    /// <summary>
    /// A tokenizer with more tokens than the model's vocab_size would hand the embedding ids it has no row for, which
    /// fails mid-run; refused at load. Fewer is fine (vocabularies are often padded to a multiple of 64 or 128).
    /// </summary>
    public void CheckTokenizer(int tokenizerVocabSize, string tokenizerOrigin)
    {
        if (tokenizerVocabSize > VocabSize)
            throw new ModelConfigException(Source, "vocab_size", $"{VocabSize} is smaller than the {tokenizerVocabSize} tokens of the tokenizer in {tokenizerOrigin}");
    }
}
