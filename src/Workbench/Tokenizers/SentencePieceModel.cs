namespace Workbench.Tokenizers;

/// <summary>Piece types of sentencepiece_model.proto.</summary>
public enum PieceType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }

public readonly record struct SentencePiece(string Piece, float Score, PieceType Type);

/// <summary>
/// The fields of a SentencePiece <c>.model</c> (a serialized <c>ModelProto</c>) that encoding needs:
/// pieces (field 1: piece 1, score 2, type 3), trainer_spec (2: model_type 3, treat_whitespace_as_suffix 24,
/// byte_fallback 35, unk/bos/eos/pad ids 40–43) and normalizer_spec (3: name 1, precompiled_charsmap 2,
/// add_dummy_prefix 3, remove_extra_whitespaces 4, escape_whitespaces 5). Proto2 defaults apply to absent fields.
/// </summary>
public sealed class SentencePieceModel
{
    public enum Kind { Unigram = 1, Bpe = 2, Word = 3, Char = 4 }

    public List<SentencePiece> Pieces { get; } = new();
    public Kind ModelType { get; private set; } = Kind.Unigram;
    public bool ByteFallback { get; private set; }
    public bool TreatWhitespaceAsSuffix { get; private set; }
    public int UnkId { get; private set; } = 0;
    public int BosId { get; private set; } = 1;
    public int EosId { get; private set; } = 2;
    public int PadId { get; private set; } = -1;
    public string NormalizerName { get; private set; } = "";
    public int PrecompiledCharsmapLength { get; private set; }
    public bool AddDummyPrefix { get; private set; } = true;
    public bool RemoveExtraWhitespaces { get; private set; } = true;
    public bool EscapeWhitespaces { get; private set; } = true;

    public static SentencePieceModel Parse(ReadOnlySpan<byte> bytes)
    {
        var model = new SentencePieceModel();
        var r = new ProtobufReader(bytes);
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1 when wire == 2: model.Pieces.Add(ParsePiece(r.ReadBytes())); break;
                case 2 when wire == 2: model.ParseTrainerSpec(r.ReadBytes()); break;
                case 3 when wire == 2: model.ParseNormalizerSpec(r.ReadBytes()); break;
                default: r.Skip(wire); break;
            }
        }
        if (model.Pieces.Count == 0) throw new FormatException("SentencePiece model has no pieces");
        return model;
    }

    static SentencePiece ParsePiece(ReadOnlySpan<byte> bytes)
    {
        string piece = ""; float score = 0; var type = PieceType.Normal;
        var r = new ProtobufReader(bytes);
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1 when wire == 2: piece = r.ReadString(); break;
                case 2 when wire == 5: score = r.ReadFloat(); break;
                case 3 when wire == 0: type = (PieceType)r.ReadVarint(); break;
                default: r.Skip(wire); break;
            }
        }
        return new SentencePiece(piece, score, type);
    }

    void ParseTrainerSpec(ReadOnlySpan<byte> bytes)
    {
        var r = new ProtobufReader(bytes);
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            if (wire != 0) { r.Skip(wire); continue; }
            long v = (long)r.ReadVarint();
            switch (field)
            {
                case 3: ModelType = (Kind)v; break;
                case 24: TreatWhitespaceAsSuffix = v != 0; break;
                case 35: ByteFallback = v != 0; break;
                case 40: UnkId = (int)v; break;
                case 41: BosId = (int)v; break;
                case 42: EosId = (int)v; break;
                case 43: PadId = (int)v; break;
            }
        }
    }

    void ParseNormalizerSpec(ReadOnlySpan<byte> bytes)
    {
        var r = new ProtobufReader(bytes);
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case 1 when wire == 2: NormalizerName = r.ReadString(); break;
                case 2 when wire == 2: PrecompiledCharsmapLength = r.ReadBytes().Length; break;
                case 3 when wire == 0: AddDummyPrefix = r.ReadVarint() != 0; break;
                case 4 when wire == 0: RemoveExtraWhitespaces = r.ReadVarint() != 0; break;
                case 5 when wire == 0: EscapeWhitespaces = r.ReadVarint() != 0; break;
                default: r.Skip(wire); break;
            }
        }
    }
}
