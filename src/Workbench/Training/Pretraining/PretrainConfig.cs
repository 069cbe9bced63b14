using Workbench.Adapters;
using System.Globalization;
using System.Text.Json.Nodes;
using Workbench.Tokenizers.Training;
using Workbench.Formats;

namespace Workbench.Training.Pretraining;

/// <summary>
/// One text source: <c>path</c> (plain lines), <c>path@column</c> (a TSV column by header name, NSMC's
/// <c>document</c>) or <c>file.jsonl@field+field</c> (string fields of JSON lines, KoAlpaca's <c>instruction+output</c>).
/// </summary>
public sealed record TextSource(string Path, TrainingText Reader)
{
    public static TextSource Parse(string spec)
    {
        int at = spec.LastIndexOf('@');
        if (at < 0) return new TextSource(spec, new TrainingText());
        var (path, what) = (spec[..at], spec[(at + 1)..]);
        bool json = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        return json ? new TextSource(path, new TrainingText(Fields: what.Split('+', StringSplitOptions.RemoveEmptyEntries)))
                    : new TextSource(path, new TrainingText(Column: what));
    }

    public IEnumerable<string> Read() => Reader.Read(Path);
}

/// <summary>
/// A from-scratch run: the model's shape (a GPT-NeoX shaped like Polyglot-ko), the tokenizer, the texts, and the
/// training knobs of <see cref="TrainingConfig"/> (adapter none; max_length is the block size). In YAML the model
/// and data keys below sit beside the training keys; <c>output_dir</c> is the finished model directory.
/// </summary>
public sealed record PretrainConfig
{
    public required TrainingConfig Training { get; init; }
    /// <summary>Tokenizer directory; trained from <see cref="Texts"/> with <see cref="VocabSize"/> when it has no tokenizer.json.</summary>
    public string Tokenizer { get; init; } = "";
    public int VocabSize { get; init; } = 8000;
    public int HiddenSize { get; init; } = 256;
    public int NumLayers { get; init; } = 4;
    public int NumHeads { get; init; } = 4;
    public int IntermediateSize { get; init; } = 1024;
    public double RotaryPct { get; init; } = 0.25;
    public int MaxPositionEmbeddings { get; init; } = 256;
    public bool UseParallelResidual { get; init; } = true;
    public double InitializerRange { get; init; } = 0.02;
    /// <summary>float16 or bfloat16: the dtype model.safetensors is written in.</summary>
    public string TorchDtype { get; init; } = "float16";
    public IReadOnlyList<string> Texts { get; init; } = [];
    /// <summary>Held-out texts for the model card's perplexity and chars/token (same spec as <see cref="Texts"/>); empty: none.</summary>
    public string Heldout { get; init; } = "";
    /// <summary>Wall-clock limit on training (minutes, 0: none): training stops after the step that crosses it and the model is written.</summary>
    public double MaxMinutes { get; init; }

    public static readonly string[] Keys =
        ["tokenizer", "vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size", "rotary_pct",
         "max_position_embeddings", "use_parallel_residual", "initializer_range", "torch_dtype", "texts", "heldout", "max_minutes"];

    /// <summary>Reads a YAML (or .json) file: the keys above, the rest are <see cref="TrainingConfig"/> keys.</summary>
    public static PretrainConfig Load(string path, IEnumerable<KeyValuePair<string, IReadOnlyList<string>>>? overrides = null)
    {
        if (!File.Exists(path)) throw new TrainingConfigException($"{path}: config file not found");
        var text = TextFile.ReadAll(path);
        var values = path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
            ? TrainingConfigLoader.ParseJson(text, path) : TrainingConfigLoader.ParseYaml(text, path);
        return FromValues(values.Concat(overrides ?? []), path);
    }

    public static PretrainConfig FromValues(IEnumerable<KeyValuePair<string, IReadOnlyList<string>>> values, string origin)
    {
        var own = new Dictionary<string, IReadOnlyList<string>>();
        var training = new List<KeyValuePair<string, IReadOnlyList<string>>>();
        foreach (var kv in values)
        {
            var key = kv.Key.Replace('-', '_');
            if (Keys.Contains(key)) own[key] = kv.Value;
            else training.Add(new(key, kv.Value));
        }
        string S(string k, string d) => own.TryGetValue(k, out var v) ? string.Join(",", v).Trim() : d;
        int I(string k, int d) => own.ContainsKey(k) ? int.TryParse(S(k, ""), NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) && i > 0 ? i
            : throw new TrainingConfigException($"{origin}: {k}: must be a positive integer, got '{S(k, "")}'") : d;
        double D(string k, double d) => own.ContainsKey(k) ? double.TryParse(S(k, ""), NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x) && x >= 0 ? x
            : throw new TrainingConfigException($"{origin}: {k}: must be a finite number >= 0, got '{S(k, "")}'") : d;

        var texts = own.TryGetValue("texts", out var t) ? t.Where(s => s.Length > 0).ToList() : [];
        if (texts.Count == 0) throw new TrainingConfigException($"{origin}: texts: is required (a list of path, path@column or file.jsonl@field+field)");
        // The trainer reads no instruction file; data names the first text file for its checks and the checkpoint.
        var baseValues = new List<KeyValuePair<string, IReadOnlyList<string>>>
        {
            new("adapter", ["none"]), new("base_model", ["(from scratch)"]), new("data", [TextSource.Parse(texts[0]).Path]),
            new("packing", ["true"]), new("completion_only", ["false"]),
        };
        var tc = TrainingConfigLoader.Apply(new TrainingConfig(), baseValues.Concat(training), origin).Validate(origin);
        if (tc.Adapter != AdapterMethod.None) throw new TrainingConfigException($"{origin}: adapter: must be none for pretraining");
        var c = new PretrainConfig
        {
            Training = tc,
            Tokenizer = S("tokenizer", ""),
            VocabSize = I("vocab_size", 8000),
            HiddenSize = I("hidden_size", 256),
            NumLayers = I("num_layers", 4),
            NumHeads = I("num_heads", 4),
            IntermediateSize = I("intermediate_size", 1024),
            RotaryPct = D("rotary_pct", 0.25),
            MaxPositionEmbeddings = I("max_position_embeddings", 256),
            UseParallelResidual = S("use_parallel_residual", "true").ToLowerInvariant() is "true" or "yes" or "1" or "on",
            InitializerRange = D("initializer_range", 0.02),
            TorchDtype = S("torch_dtype", "float16"),
            Texts = texts,
            Heldout = S("heldout", ""),
            MaxMinutes = D("max_minutes", 0),
        };
        if (c.Tokenizer.Length == 0) throw new TrainingConfigException($"{origin}: tokenizer: is required (a directory; trained from the texts when it has no tokenizer.json)");
        if (c.HiddenSize % c.NumHeads != 0) throw new TrainingConfigException($"{origin}: hidden_size: {c.HiddenSize} is not divisible by num_heads {c.NumHeads}");
        if (c.RotaryPct is <= 0 or > 1) throw new TrainingConfigException($"{origin}: rotary_pct: must be in (0, 1], got {c.RotaryPct}");
        if (c.TorchDtype is not ("float16" or "bfloat16" or "float32")) throw new TrainingConfigException($"{origin}: torch_dtype: must be float16, bfloat16 or float32, got '{c.TorchDtype}'");
        if (tc.MaxLength > c.MaxPositionEmbeddings) throw new TrainingConfigException($"{origin}: max_length: {tc.MaxLength} exceeds max_position_embeddings {c.MaxPositionEmbeddings}");
        return c;
    }

    /// <summary>The Hugging Face config.json of the model (gpt_neox, Polyglot-ko's layout).</summary>
    public JsonObject ConfigJson(int vocabSize, int eosId) => new()
    {
        ["architectures"] = new JsonArray("GPTNeoXForCausalLM"),
        ["bos_token_id"] = eosId,
        ["eos_token_id"] = eosId,
        ["hidden_act"] = "gelu",
        ["hidden_size"] = HiddenSize,
        ["initializer_range"] = InitializerRange,
        ["intermediate_size"] = IntermediateSize,
        ["layer_norm_eps"] = 1e-5,
        ["max_position_embeddings"] = MaxPositionEmbeddings,
        ["model_type"] = "gpt_neox",
        ["num_attention_heads"] = NumHeads,
        ["num_hidden_layers"] = NumLayers,
        ["rotary_emb_base"] = 10000,
        ["rotary_pct"] = RotaryPct,
        ["tie_word_embeddings"] = false,
        ["torch_dtype"] = TorchDtype,
        ["use_cache"] = true,
        ["use_parallel_residual"] = UseParallelResidual,
        ["vocab_size"] = vocabSize,
    };
}
