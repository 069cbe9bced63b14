using Workbench.Formats;
using System.Text.Json;

namespace Workbench.Tokenizers;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> with a BPE model, run as <c>tokenizers</c> runs it:
/// added tokens are cut out, each remaining segment is normalized and pre-tokenized, BPE encodes
/// each word, and the post-processor adds BOS/EOS. Decoding maps ids to tokens and runs the decoder.
/// <c>tokenizer_config.json</c> beside the file supplies BOS/EOS/PAD names and, as transformers does,
/// replaces the post-processor when it sets <c>add_bos_token</c> or <c>add_eos_token</c> to true.
/// </summary>
public sealed class HfTokenizer : Tokenizer
{
    readonly BpeModel model;
    readonly AddedVocabulary added;
    readonly INormalizer? normalizer;
    readonly IPreTokenizer? preTokenizer;
    readonly PostProcessor post;
    readonly IDecoder? decoder;

    HfTokenizer(BpeModel model, AddedVocabulary added, INormalizer? normalizer, IPreTokenizer? preTokenizer,
        PostProcessor post, IDecoder? decoder, TokenizerConfig config)
    {
        this.model = model;
        this.added = added;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.decoder = decoder;
        BosId = IdOf(config.BosToken);
        EosId = IdOf(config.EosToken);
        PadId = IdOf(config.PadToken);
        if (config.AddBosToken == true || config.AddEosToken == true)
            post = new PostProcessor(config.AddBosToken == true ? [BosId ?? throw Missing("bos_token")] : [],
                                     config.AddEosToken == true ? [EosId ?? throw Missing("eos_token")] : []);
        this.post = post;
        if (config == TokenizerConfig.Empty)
        {
            // No tokenizer_config.json: take BOS/EOS from the template, else the usual special names.
            BosId = post.Before.Count > 0 ? post.Before[0] : null;
            EosId = post.After.Count > 0 ? post.After[^1] : SpecialId("<|endoftext|>", "</s>", "<eos>");
            PadId = SpecialId("<|padding|>", "<pad>");
        }
        VocabSize = Math.Max(model.MaxId, added.MaxId) + 1;
    }

    static FormatException Missing(string name) => new($"tokenizer_config.json: add_{name[..3]}_token is true but {name} is not a known token");

    int? IdOf(string? token) => token == null ? null : TokenToId(token);

    int? SpecialId(params string[] names) =>
        names.Select(n => added.ByContent(n)).FirstOrDefault(t => t is { Special: true })?.Id;

    public override int VocabSize { get; }
    public override int? BosId { get; }
    public override int? EosId { get; }
    public override int? PadId { get; }

    /// <summary>Reads <paramref name="path"/> (tokenizer.json) and the tokenizer_config.json beside it, if any.</summary>
    public static new HfTokenizer Load(string path)
    {
        using var doc = JsonFile.Parse(path, new JsonDocumentOptions { MaxDepth = 256 });
        var root = doc.RootElement;
        try
        {
            var normalizer = Normalizers.FromJson(Property(root, "normalizer"));
            var added = new AddedVocabulary(Property(root, "added_tokens") is { ValueKind: JsonValueKind.Array } a
                ? a.EnumerateArray().Select(AddedToken.FromJson) : [], normalizer);
            return new HfTokenizer(ModelFromJson(root.GetProperty("model")), added, normalizer,
                PreTokenizers.FromJson(Property(root, "pre_tokenizer")), PostProcessor.FromJson(Property(root, "post_processor")),
                Decoders.FromJson(Property(root, "decoder")), TokenizerConfig.LoadBeside(path));
        }
        catch (Exception e) when (e is FormatException or NotSupportedException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"{path}: {e.Message}", e);
        }
    }

    static JsonElement Property(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v : default;

    static BpeModel ModelFromJson(JsonElement m)
    {
        string type = m.TryGetProperty("type", out var t) ? t.GetString()! : "BPE";
        if (type != "BPE") throw new NotSupportedException($"model type '{type}' is not supported (only BPE)");
        var vocab = new Dictionary<string, int>();
        foreach (var p in m.GetProperty("vocab").EnumerateObject()) vocab[p.Name] = p.Value.GetInt32();
        var merges = new List<(string, string)>();
        foreach (var e in m.GetProperty("merges").EnumerateArray())
        {
            if (e.ValueKind == JsonValueKind.Array) { merges.Add((e[0].GetString()!, e[1].GetString()!)); continue; }
            var parts = e.GetString()!.Split(' ');
            if (parts.Length != 2) throw new FormatException($"merge {merges.Count} '{e.GetString()}' is not two tokens separated by a space");
            merges.Add((parts[0], parts[1]));
        }
        string? Str(string name) => m.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        if (m.TryGetProperty("dropout", out var d) && d.ValueKind == JsonValueKind.Number && d.GetDouble() > 0)
            throw new NotSupportedException("BPE dropout is not supported");
        return new BpeModel(vocab, merges, Str("unk_token"), PreTokenizers.Flag(m, "byte_fallback", false), PreTokenizers.Flag(m, "fuse_unk", false),
            PreTokenizers.Flag(m, "ignore_merges", false), Str("continuing_subword_prefix"), Str("end_of_word_suffix"));
    }

    public override int[] Encode(string text, bool addSpecialTokens = true)
    {
        var ids = new List<int>();
        foreach (var segment in added.Extract(text, normalizer))
        {
            if (segment.Token != null) { ids.Add(segment.Token.Id); continue; }
            if (preTokenizer == null) { model.Tokenize(segment.Text, ids); continue; }
            foreach (var word in preTokenizer.Split(segment.Text, segment.AtTextStart)) model.Tokenize(word, ids);
        }
        return addSpecialTokens ? post.Apply(ids) : ids.ToArray();
    }

    public override string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var tokens = new List<string>();
        foreach (int id in ids)
        {
            if (added.ById(id) is { } token)
            {
                if (!(skipSpecialTokens && token.Special)) tokens.Add(token.Content);
            }
            else if (model.IdToToken(id) is { } piece) tokens.Add(piece);
        }
        return decoder == null ? string.Join(" ", tokens) : string.Concat(decoder.DecodeChain(tokens));
    }

    public override string? IdToToken(int id) => added.ById(id)?.Content ?? model.IdToToken(id);

    public override int? TokenToId(string token) => added.ByContent(token)?.Id ?? model.TokenToId(token);
}
