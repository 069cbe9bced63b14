namespace Workbench.Tokenizers;

/// <summary>
/// Piece lookups as sentencepiece's ModelInterface keeps them: normal, user-defined and unused pieces
/// are matchable text; control, unknown and byte pieces are reserved and found only by exact name.
/// </summary>
public sealed class SentencePieceVocabulary
{
    readonly Dictionary<string, int> matchable = new(), reserved = new();
    readonly string[] userDefined;   // longest first

    public SentencePieceVocabulary(SentencePieceModel model)
    {
        Pieces = model.Pieces;
        UnkId = model.UnkId;
        for (int id = 0; id < Pieces.Count; id++)
        {
            var p = Pieces[id];
            bool isText = p.Type is PieceType.Normal or PieceType.UserDefined or PieceType.Unused;
            if (!(isText ? matchable : reserved).TryAdd(p.Piece, id))
                throw new FormatException($"SentencePiece model: piece '{p.Piece}' (id {id}) is defined twice");
            if (p.Type == PieceType.Normal)
            {
                MinScore = Math.Min(MinScore, p.Score);
                MaxScore = Math.Max(MaxScore, p.Score);
                MaxPieceLength = Math.Max(MaxPieceLength, p.Piece.Length);
            }
        }
        userDefined = Pieces.Where(p => p.Type == PieceType.UserDefined).Select(p => p.Piece).OrderByDescending(p => p.Length).ToArray();
        MaxPieceLength = Math.Max(MaxPieceLength, userDefined.FirstOrDefault()?.Length ?? 0);
        Matchable = matchable.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public List<SentencePiece> Pieces { get; }
    public int UnkId { get; }
    public float MinScore { get; } = float.MaxValue;
    public float MaxScore { get; } = float.MinValue;
    /// <summary>Longest matchable piece in UTF-16 units.</summary>
    public int MaxPieceLength { get; }

    /// <summary>Normal, user-defined and unused pieces by text.</summary>
    public Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> Matchable { get; }

    /// <summary>sentencepiece's PieceToId: reserved names first, then matchable text, else unk.</summary>
    public int PieceToId(ReadOnlySpan<char> piece)
    {
        if (reserved.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(piece, out int id)) return id;
        return Matchable.TryGetValue(piece, out id) ? id : UnkId;
    }

    public int? ExactId(string piece) => reserved.TryGetValue(piece, out int id) || matchable.TryGetValue(piece, out id) ? id : null;

    /// <summary>Length of the longest user-defined piece at the start of <paramref name="text"/>, or 0.</summary>
    public int UserDefinedPrefix(ReadOnlySpan<char> text)
    {
        foreach (var piece in userDefined)
            if (text.StartsWith(piece, StringComparison.Ordinal)) return piece.Length;
        return 0;
    }

    public bool HasUserDefined => userDefined.Length > 0;
}
