using System.Text.Json;
using Workbench.Formats.Gguf;
using Workbench.Models;
using Workbench.Tokenizers;

namespace Workbench.Export.Gguf;

/// <summary>
/// The tokenizer as llama.cpp reads it (<c>tokenizer.ggml.*</c>), made from a model folder's files the way
/// convert_hf_to_gguf.py does:
/// <list type="bullet">
/// <item><c>tokenizer.model</c> (SentencePiece) → model "llama", pre "default": every piece with its score and type
/// (NORMAL 1, UNKNOWN 2, CONTROL 3, USER_DEFINED 4, UNUSED 5, BYTE 6; _create_vocab_sentencepiece), ids up to
/// config.vocab_size filled with "[PAD{id}]" (score −10000, UNUSED), tokenizer_config.json's added_tokens_decoder
/// overriding (CONTROL when special or looking special, else USER_DEFINED with ▁ as a space; score −1000).</item>
/// <item>a byte-level BPE <c>tokenizer.json</c> → model "gpt2" (get_vocab_base): tokens by id, added tokens CONTROL
/// or USER_DEFINED as above, others NORMAL, holes "[PAD{id}]" UNUSED; the merges as "left right".
/// The pre-tokenizer name is read from tokenizer.json's pre_tokenizer rather than from the converter's hash of a
/// test string's ids (which knows only published tokenizers, not one trained with <c>wb tokenizer train</c>):
/// ByteLevel with its built-in regex → "gpt-2"; Llama 3's Split regex + ByteLevel → "llama-bpe".</item>
/// </list>
/// Special ids as gguf-py's SpecialVocab finds them: tokenizer_config.json's bos/eos/unk/sep/pad/cls/mask_token looked
/// up among tokenizer.json's added tokens, then config.json's <c>*_token_id</c> for those still unset;
/// add_bos/add_eos from a TemplateProcessing post-processor, overridden by tokenizer_config.json's
/// add_bos_token/add_eos_token; tokenizer_config.json's chat_template.
/// </summary>
public static class LlamaCppVocabulary
{
    /// <summary>Llama 3's pre-tokenizer regex, as its tokenizer.json spells it.</summary>
    public const string Llama3Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static readonly string[] SpecialTypes = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"];

    /// <summary>gguf-py's key for each special token type (note "seperator", as spelled there).</summary>
    private static string SpecialKey(string type) => type switch
    {
        "unk" => "tokenizer.ggml.unknown_token_id",
        "sep" => "tokenizer.ggml.seperator_token_id",
        "pad" => "tokenizer.ggml.padding_token_id",
        _ => $"tokenizer.ggml.{type}_token_id",
    };

    /// <summary>Adds the tokenizer keys of <paramref name="directory"/> to <paramref name="metadata"/>.</summary>
    public static void AddTo(GgufMetadata metadata, string directory, ModelConfig config, LlamaCppArchitecture architecture)
    {
        var sentencePiece = Path.Combine(directory, "tokenizer.model");
        var tokenizerJson = Path.Combine(directory, "tokenizer.json");
        var tokenizerConfig = ReadJson(Path.Combine(directory, "tokenizer_config.json"));
        JsonElement? tokenizer = ReadJson(tokenizerJson);
        var special = new Dictionary<string, int>();
        var add = new Dictionary<string, bool>();
        string[]? merges = null;

        if (File.Exists(sentencePiece))
        {
            var (tokens, scores, types) = SentencePieceVocab(sentencePiece, config, tokenizerConfig);
            metadata.Add("tokenizer.ggml.model", "llama").Add("tokenizer.ggml.pre", "default")
                    .Add("tokenizer.ggml.tokens", tokens).Add("tokenizer.ggml.scores", scores).Add("tokenizer.ggml.token_type", types);
        }
        else if (tokenizer is { } tj)
        {
            var (tokens, types) = ByteLevelVocab(tokenizerJson, tj, config);
            metadata.Add("tokenizer.ggml.model", "gpt2").Add("tokenizer.ggml.pre", PreTokenizerName(tokenizerJson, tj))
                    .Add("tokenizer.ggml.tokens", tokens).Add("tokenizer.ggml.token_type", types);
            merges = Merges(tokenizerJson, tj);
        }
        else throw new FileNotFoundException($"{directory}: no tokenizer.model or tokenizer.json to embed in the GGUF file");

        if (tokenizer is { } t) FromTemplate(t, add);
        if (tokenizerConfig is { } tc)
            foreach (var type in SpecialTypes)
            {
                if (tc.TryGetProperty($"add_{type}_token", out var a) && a.ValueKind is JsonValueKind.True or JsonValueKind.False) add[type] = a.GetBoolean();
                if (tokenizer is { } tk && TokenContent(tc, $"{type}_token") is { } content && AddedTokenId(tk, content) is { } id)
                    special.TryAdd(type, id);
            }
        foreach (var (type, id) in ConfigIds(config)) special.TryAdd(type, id);
        if (architecture is LlamaCppGemma)
            foreach (var (type, id) in GemmaCodeTokens) special.TryAdd(type, id);

        if (merges is not null) metadata.Add("tokenizer.ggml.merges", merges);
        foreach (var (type, id) in special.Where(s => s.Value < config.VocabSize))
            metadata.Add(SpecialKey(type), (uint)id);
        foreach (var (type, value) in add) metadata.Add($"tokenizer.ggml.add_{type}_token", value);
        if (architecture is LlamaCppGemma) metadata.Add("tokenizer.ggml.add_space_prefix", false);
        else if (tokenizerConfig is { } c && c.TryGetProperty("add_prefix_space", out var p) && p.ValueKind is JsonValueKind.True or JsonValueKind.False)
            metadata.Add("tokenizer.ggml.add_space_prefix", p.GetBoolean());
        if (architecture is not LlamaCppGemma && tokenizerConfig is { } cfg && cfg.TryGetProperty("chat_template", out var ct) && ct.ValueKind == JsonValueKind.String)
            metadata.Add("tokenizer.chat_template", ct.GetString()!);
    }

    /// <summary>
    /// CodeGemma's fill-in-the-middle and end-of-turn ids, which GemmaModel.set_vocab always sets (its fsep id has no
    /// gguf-py key and is dropped there too).
    /// </summary>
    private static readonly (string, int)[] GemmaCodeTokens = [("prefix", 67), ("suffix", 69), ("middle", 68), ("eot", 107)];

    private static (string[] Tokens, float[] Scores, int[] Types) SentencePieceVocab(string path, ModelConfig config, JsonElement? tokenizerConfig)
    {
        var model = SentencePieceModel.Parse(File.ReadAllBytes(path));
        int n = config.VocabSize;
        var tokens = Enumerable.Range(0, n).Select(i => $"[PAD{i}]").ToArray();
        var scores = Enumerable.Repeat(-10000f, n).ToArray();
        var types = Enumerable.Repeat((int)PieceType.Unused, n).ToArray();
        for (int id = 0; id < Math.Min(n, model.Pieces.Count); id++)
            (tokens[id], scores[id], types[id]) = (model.Pieces[id].Piece, model.Pieces[id].Score, (int)model.Pieces[id].Type);
        if (tokenizerConfig is { } tc && tc.TryGetProperty("added_tokens_decoder", out var decoder) && decoder.ValueKind == JsonValueKind.Object)
            foreach (var entry in decoder.EnumerateObject())
            {
                if (!int.TryParse(entry.Name, out int id) || id >= n || !entry.Value.TryGetProperty("content", out var c)) continue;
                var content = c.GetString()!;
                (tokens[id], types[id]) = TypedAddedToken(content, entry.Value);
                scores[id] = -1000f;
            }
        return (tokens, scores, types);
    }

    private static (string[] Tokens, int[] Types) ByteLevelVocab(string path, JsonElement tokenizer, ModelConfig config)
    {
        var model = tokenizer.GetProperty("model");
        if (model.GetProperty("type").GetString() != "BPE" || (model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True))
            throw new NotSupportedException($"{path}: only byte-level BPE tokenizer.json files are embedded (a SentencePiece-style one needs its tokenizer.model beside it)");
        int n = config.VocabSize;
        var tokens = Enumerable.Range(0, n).Select(i => $"[PAD{i}]").ToArray();
        var types = Enumerable.Repeat((int)PieceType.Unused, n).ToArray();
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
        {
            int id = entry.Value.GetInt32();
            if (id >= n) throw new FormatException($"{path}: token '{entry.Name}' has id {id}, outside config.json's vocab_size {n}");
            (tokens[id], types[id]) = (entry.Name, (int)PieceType.Normal);
        }
        if (tokenizer.TryGetProperty("added_tokens", out var added))
            foreach (var a in added.EnumerateArray())
            {
                int id = a.GetProperty("id").GetInt32();
                if (id >= n) throw new FormatException($"{path}: added token id {id} is outside config.json's vocab_size {n}");
                var content = a.GetProperty("content").GetString()!;
                (tokens[id], types[id]) = TypedAddedToken(content, a);
            }
        return (tokens, types);
    }

    private static string PreTokenizerName(string path, JsonElement tokenizer)
    {
        var pre = tokenizer.TryGetProperty("pre_tokenizer", out var p) ? p : default;
        if (pre.ValueKind == JsonValueKind.Object && pre.GetProperty("type").GetString() == "ByteLevel"
            && !(pre.TryGetProperty("use_regex", out var r) && r.ValueKind == JsonValueKind.False))
            return "gpt-2";
        if (pre.ValueKind == JsonValueKind.Object && pre.GetProperty("type").GetString() == "Sequence"
            && pre.GetProperty("pretokenizers") is var seq && seq.GetArrayLength() == 2
            && seq[0].GetProperty("type").GetString() == "Split"
            && seq[0].GetProperty("pattern").TryGetProperty("Regex", out var regex) && regex.GetString() == Llama3Pattern
            && seq[1].GetProperty("type").GetString() == "ByteLevel")
            return "llama-bpe";
        throw new NotSupportedException($"{path}: pre_tokenizer {(pre.ValueKind == JsonValueKind.Undefined ? "(none)" : pre.GetRawText())} has no llama.cpp pre-tokenizer we can name (ByteLevel → gpt-2, Llama 3's Split → llama-bpe)");
    }

    /// <summary>tokenizer.json merges: "a b" strings, or [a, b] pairs (transformers ≥ 4.45) joined with a space, a space inside a part written as U+0120.</summary>
    private static string[] Merges(string path, JsonElement tokenizer) =>
        tokenizer.GetProperty("model").TryGetProperty("merges", out var merges)
            ? merges.EnumerateArray().Select(m => m.ValueKind switch
            {
                JsonValueKind.String => m.GetString()!,
                JsonValueKind.Array => string.Join(' ', m.EnumerateArray().Select(s => s.GetString()!.Replace(' ', '\u0120'))),
                _ => throw new FormatException($"{path}: a merge is neither \"a b\" nor [a, b]: {m.GetRawText()}"),
            }).ToArray()
            : [];

    /// <summary>An added token: CONTROL when marked special or looking special, else USER_DEFINED with ▁ pre-normalised to a space.</summary>
    private static (string Token, int Type) TypedAddedToken(string content, JsonElement entry) =>
        (entry.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True) || LooksSpecial(content)
            ? (content, (int)PieceType.Control)
            : (content.Replace('\u2581', ' '), (int)PieceType.UserDefined);

    /// <summary>convert_hf_to_gguf.py's does_token_look_special.</summary>
    private static bool LooksSpecial(string token) =>
        token is "<pad>" or "<mask>" or "<2mass>" or "[@BOS@]"
        || (token.StartsWith("<|") && token.EndsWith("|>"))
        || (token.StartsWith("<｜") && token.EndsWith("｜>"))
        || (token.StartsWith("<unused") && token.EndsWith('>'));

    /// <summary>A TemplateProcessing post-processor (alone or in a Sequence) that starts/ends with a special token adds bos/eos.</summary>
    private static void FromTemplate(JsonElement tokenizer, Dictionary<string, bool> add)
    {
        if (!tokenizer.TryGetProperty("post_processor", out var post) || post.ValueKind != JsonValueKind.Object) return;
        var template = post.GetProperty("type").GetString() == "Sequence"
            ? post.GetProperty("processors").EnumerateArray().FirstOrDefault(p => p.GetProperty("type").GetString() == "TemplateProcessing")
            : post;
        if (template.ValueKind != JsonValueKind.Object || template.GetProperty("type").GetString() != "TemplateProcessing") return;
        var single = template.GetProperty("single").EnumerateArray().ToList();
        if (single.Count == 0) return;
        add["bos"] = single[0].TryGetProperty("SpecialToken", out _);
        add["eos"] = single[^1].TryGetProperty("SpecialToken", out _);
    }

    private static IEnumerable<(string, int)> ConfigIds(ModelConfig config)
    {
        if (config.BosTokenId is { } bos) yield return ("bos", bos);
        if (config.EosTokenIds.Length == 1) yield return ("eos", config.EosTokenIds[0]); // a list is not an id to SpecialVocab
        if (config.PadTokenId is { } pad) yield return ("pad", pad);
    }

    private static string? TokenContent(JsonElement config, string key) =>
        !config.TryGetProperty(key, out var v) ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()
        : v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) ? c.GetString()
        : null;

    private static int? AddedTokenId(JsonElement tokenizer, string content) =>
        tokenizer.TryGetProperty("added_tokens", out var added)
            ? added.EnumerateArray().Where(a => a.GetProperty("content").GetString() == content).Select(a => (int?)a.GetProperty("id").GetInt32()).FirstOrDefault()
            : null;

    private static JsonElement? ReadJson(string path)
    {
        if (!File.Exists(path)) return null;
        try { return JsonDocument.Parse(File.ReadAllBytes(path)).RootElement.Clone(); }
        catch (JsonException e) { throw new FormatException($"{path}: not valid JSON ({e.Message})"); }
    }
}
