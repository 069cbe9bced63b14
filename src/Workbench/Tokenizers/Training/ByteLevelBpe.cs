using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Formats;

namespace Workbench.Tokenizers.Training;

/// <summary>Settings of <see cref="ByteLevelBpe.Train"/>: target size (special tokens and the 256 bytes included), min pair count, special tokens (ids 0, 1, …).</summary>
public sealed record ByteLevelBpeOptions(int VocabSize, long MinFrequency = 2, IReadOnlyList<string>? SpecialTokens = null, int ModelMaxLength = 2048)
{
    public static readonly IReadOnlyList<string> DefaultSpecialTokens = ["<|endoftext|>", "<|padding|>"];
    public IReadOnlyList<string> Specials => SpecialTokens ?? DefaultSpecialTokens;
}

/// <summary>
/// Byte-level BPE as GPT-NeoX and Polyglot-ko train it with Hugging Face tokenizers: NFC, the ByteLevel pre-tokenizer
/// (GPT-2 regex, no prefix space) turning each word's UTF-8 bytes into <see cref="ByteLevelAlphabet"/> characters,
/// all 256 of which start the vocabulary after the special tokens, then <see cref="BpeTrainer"/>. The result is written
/// as GPT-NeoX-20B's <c>tokenizer.json</c> is laid out, plus a <c>tokenizer_config.json</c>.
/// Training pre-tokenizes with the very normalizer and pre-tokenizer objects that loading the written file builds.
/// </summary>
public static class ByteLevelBpe
{
    static JsonObject ByteLevelStep() => new() { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
    static JsonObject NormalizerJson() => new() { ["type"] = "NFC" };

    static readonly INormalizer Normalizer = Normalizers.FromJson(JsonDocument.Parse(NormalizerJson().ToJsonString()).RootElement)!;
    static readonly IPreTokenizer PreTokenizer = PreTokenizers.FromJson(JsonDocument.Parse(ByteLevelStep().ToJsonString()).RootElement)!;

    /// <summary>How often each pre-tokenized word (in byte-alphabet characters) occurs in <paramref name="texts"/>.</summary>
    public static Dictionary<string, long> CountWords(IEnumerable<string> texts)
    {
        var list = texts as IReadOnlyList<string> ?? texts.ToList();   // read errors surface here, not inside the parallel loop
        var total = new Dictionary<string, long>();
        object gate = new();
        Parallel.ForEach(list, () => new Dictionary<string, long>(), (text, _, local) =>
        {
            foreach (string word in PreTokenizer.Split(Normalizer.Normalize(text), atTextStart: true))
                local[word] = local.GetValueOrDefault(word) + 1;
            return local;
        }, local =>
        {
            lock (gate)
                foreach (var (word, count) in local) total[word] = total.GetValueOrDefault(word) + count;
        });
        return total;
    }

    public static BpeVocabulary Train(IEnumerable<string> texts, ByteLevelBpeOptions options) =>
        new BpeTrainer(options.VocabSize, options.MinFrequency, options.Specials, ByteLevelAlphabet.ByteToChar).Train(CountWords(texts));

    /// <summary>The tokenizer.json document: GPT-NeoX-20B's layout with this vocabulary.</summary>
    public static JsonObject TokenizerJson(BpeVocabulary vocabulary, ByteLevelBpeOptions options)
    {
        var vocab = new JsonObject();
        for (int id = 0; id < vocabulary.Tokens.Count; id++) vocab[vocabulary.Tokens[id]] = id;
        var merges = new JsonArray(vocabulary.Merges.Select(m => (JsonNode)JsonValue.Create(m.Left + " " + m.Right)).ToArray());
        var added = new JsonArray(options.Specials.Select((s, id) => (JsonNode)new JsonObject
        {
            ["id"] = id, ["special"] = true, ["content"] = s, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false,
        }).ToArray());
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = NormalizerJson(),
            ["pre_tokenizer"] = ByteLevelStep(),
            ["post_processor"] = ByteLevelStep(),
            ["decoder"] = ByteLevelStep(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["vocab"] = vocab, ["merges"] = merges,
            },
        };
    }

    /// <summary>transformers' tokenizer_config.json: the first special token is BOS, EOS and UNK, the second (if any) PAD; nothing is added around texts.</summary>
    public static JsonObject TokenizerConfigJson(ByteLevelBpeOptions options)
    {
        var config = new JsonObject { ["tokenizer_class"] = "GPTNeoXTokenizerFast", ["model_max_length"] = options.ModelMaxLength,
            ["add_bos_token"] = false, ["add_eos_token"] = false, ["clean_up_tokenization_spaces"] = false };
        if (options.Specials.Count > 0)
        {
            foreach (var name in new[] { "bos_token", "eos_token", "unk_token" }) config[name] = options.Specials[0];
            config["pad_token"] = options.Specials[Math.Min(1, options.Specials.Count - 1)];
        }
        return config;
    }

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>What <see cref="OutputFolder"/> records a tokenizer folder as.</summary>
    public const string Kind = "tokenizer";

    /// <summary>
    /// Writes tokenizer.json and tokenizer_config.json as a new folder <paramref name="outDir"/>, whole or not at all.
    /// An earlier tokenizer there is replaced only with <paramref name="force"/>; any other folder (a model's, say) is
    /// refused: <see cref="OutputFolder.Claim"/> checks it, and callers claim before training to fail early.
    /// </summary>
    public static void Save(BpeVocabulary vocabulary, ByteLevelBpeOptions options, string outDir, bool force = false) =>
        OutputFolder.Claim(outDir, Kind, force).Write(dir =>
    {
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), TokenizerJson(vocabulary, options).ToJsonString(Indented));
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), TokenizerConfigJson(options).ToJsonString(Indented));
    });
}
