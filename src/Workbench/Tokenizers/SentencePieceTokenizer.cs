using System.Text;

namespace Workbench.Tokenizers;

/// <summary>
/// A SentencePiece <c>.model</c> (BPE or unigram) run as the <c>sentencepiece</c> library runs it:
/// normalize (optional dummy "▁" prefix, spaces → "▁", optional removal of extra spaces), segment,
/// then spell unknown pieces as <c>&lt;0xNN&gt;</c> byte pieces when byte_fallback is on.
/// <see cref="Encode"/> with special tokens prepends BOS, as Llama does (and EOS if tokenizer_config.json asks).
/// </summary>
public sealed class SentencePieceTokenizer : Tokenizer
{
    const char Space = '\u2581';   // "▁"

    readonly SentencePieceModel model;
    readonly SentencePieceVocabulary vocab;
    readonly int[] byteIds;        // id of "<0xNN>" for each byte, or -1
    readonly bool addBos, addEos;

    public SentencePieceTokenizer(SentencePieceModel model, TokenizerConfig config)
    {
        if (model.PrecompiledCharsmapLength > 0)
            throw new NotSupportedException($"SentencePiece normalizer '{model.NormalizerName}' uses a precompiled charsmap, which is not supported (only 'identity')");
        if (model.TreatWhitespaceAsSuffix) throw new NotSupportedException("SentencePiece treat_whitespace_as_suffix is not supported");
        if (model.ModelType is not (SentencePieceModel.Kind.Bpe or SentencePieceModel.Kind.Unigram))
            throw new NotSupportedException($"SentencePiece model type {model.ModelType} is not supported (only BPE and unigram)");
        this.model = model;
        vocab = new SentencePieceVocabulary(model);
        byteIds = new int[256];
        for (int b = 0; b < 256; b++) byteIds[b] = vocab.ExactId($"<0x{b:X2}>") is int id && model.Pieces[id].Type == PieceType.Byte ? id : -1;
        BosId = ControlId(model.BosId);
        EosId = ControlId(model.EosId);
        PadId = ControlId(model.PadId);
        addBos = config.AddBosToken ?? true;
        addEos = config.AddEosToken ?? false;
    }

    int? ControlId(int id) => id >= 0 && id < model.Pieces.Count && model.Pieces[id].Type == PieceType.Control ? id : null;

    public static new SentencePieceTokenizer Load(string path)
    {
        try { return new SentencePieceTokenizer(SentencePieceModel.Parse(File.ReadAllBytes(path)), TokenizerConfig.LoadBeside(path)); }
        catch (Exception e) when (e is FormatException or NotSupportedException) { throw new FormatException($"{path}: {e.Message}", e); }
    }

    public override int VocabSize => model.Pieces.Count;
    public override int? BosId { get; }
    public override int? EosId { get; }
    public override int? PadId { get; }

    /// <summary>sentencepiece's Normalizer with the identity rule: spaces become "▁", a "▁" is prepended, extra spaces optionally removed.</summary>
    public string Normalize(string text)
    {
        if (model.RemoveExtraWhitespaces) text = text.Trim(' ');
        if (text.Length == 0) return "";
        var sb = new StringBuilder(text.Length + 1);
        if (model.AddDummyPrefix) sb.Append(Space);
        bool previousSpace = model.RemoveExtraWhitespaces;   // drops spaces after the start and after a space
        for (int i = 0; i < text.Length; i++)
        {
            int n = vocab.HasUserDefined ? vocab.UserDefinedPrefix(text.AsSpan(i)) : 0;
            if (n > 0) { sb.Append(text, i, n); i += n - 1; previousSpace = false; continue; }   // user-defined pieces are copied verbatim
            char c = text[i];
            if (c == ' ')
            {
                if (previousSpace) continue;
                sb.Append(model.EscapeWhitespaces ? Space : ' ');
                previousSpace = model.RemoveExtraWhitespaces;
                continue;
            }
            sb.Append(c);
            previousSpace = false;
        }
        return sb.ToString();
    }

    public override int[] Encode(string text, bool addSpecialTokens = true)
    {
        var ids = new List<int>();
        if (addSpecialTokens && addBos && BosId is int bos) ids.Add(bos);
        string normalized = Normalize(text);
        var pieces = model.ModelType == SentencePieceModel.Kind.Bpe
            ? SentencePieceBpe.Segment(normalized, vocab).Select(p => (p.Start, p.Length, vocab.PieceToId(normalized.AsSpan(p.Start, p.Length))))
            : SentencePieceUnigram.Segment(normalized, vocab);
        foreach (var (start, length, id) in pieces)
        {
            if (id == vocab.UnkId && model.ByteFallback) AppendBytes(normalized.AsSpan(start, length), ids);
            else ids.Add(id);
        }
        if (addSpecialTokens && addEos && EosId is int eos) ids.Add(eos);
        return ids.ToArray();
    }

    void AppendBytes(ReadOnlySpan<char> piece, List<int> ids)
    {
        foreach (byte b in Encoding.UTF8.GetBytes(piece.ToArray()))
            ids.Add(byteIds[b] >= 0 ? byteIds[b] : vocab.UnkId);
    }

    /// <summary>
    /// sentencepiece's Decode: control pieces vanish, unk reads " ⁇ ", runs of byte pieces are read as UTF-8
    /// (one U+FFFD per invalid byte), "▁" becomes a space and the text's first leading "▁" is dropped.
    /// </summary>
    public override string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var text = new StringBuilder();
        var bytes = new List<byte>();
        void FlushBytes()
        {
            if (bytes.Count == 0) return;
            AppendUtf8(bytes, text);
            bytes.Clear();
        }
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)model.Pieces.Count) continue;
            var p = model.Pieces[id];
            if (p.Type == PieceType.Byte) { bytes.Add(Convert.ToByte(p.Piece.Substring(3, 2), 16)); continue; }
            FlushBytes();
            if (p.Type == PieceType.Control) continue;
            if (p.Type == PieceType.Unknown) { text.Append(" \u2047 "); continue; }
            var piece = p.Piece.AsSpan();
            if (text.Length == 0 && (model.AddDummyPrefix || model.RemoveExtraWhitespaces) && piece.Length > 0 && piece[0] == Space) piece = piece[1..];
            foreach (char c in piece) text.Append(c == Space ? ' ' : c);
        }
        FlushBytes();
        return text.ToString();
    }

    /// <summary>Decodes UTF-8 one character at a time; a byte that does not start a valid character becomes U+FFFD.</summary>
    static void AppendUtf8(List<byte> bytes, StringBuilder text)
    {
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes);
        while (span.Length > 0)
        {
            if (System.Text.Rune.DecodeFromUtf8(span, out var rune, out int consumed) == System.Buffers.OperationStatus.Done)
            {
                text.Append(rune.ToString());
                span = span[consumed..];
            }
            else
            {
                text.Append('\uFFFD');
                span = span[1..];
            }
        }
    }

    public override string? IdToToken(int id) => (uint)id < (uint)model.Pieces.Count ? model.Pieces[id].Piece : null;

    public override int? TokenToId(string token) => vocab.ExactId(token);
}
