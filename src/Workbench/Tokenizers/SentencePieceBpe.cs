namespace Workbench.Tokenizers;

/// <summary>
/// sentencepiece's BPE segmentation (bpe_model.cc): start from characters (user-defined pieces whole
/// and frozen), then repeatedly merge the adjacent pair whose concatenation is the highest-scoring
/// piece (ties: leftmost), until no adjacent pair forms a piece. Unused pieces are split back into the
/// pair that made them.
/// </summary>
public static class SentencePieceBpe
{
    /// <summary>Segments normalized text into (start, length) pieces in UTF-16 units.</summary>
    public static List<(int Start, int Length)> Segment(string text, SentencePieceVocabulary vocab)
    {
        // Symbols: a linked list over spans of text; a removed symbol has length 0.
        var start = new List<int>(); var length = new List<int>(); var frozen = new List<bool>();
        for (int i = 0; i < text.Length;)
        {
            int n = vocab.HasUserDefined ? vocab.UserDefinedPrefix(text.AsSpan(i)) : 0;
            frozen.Add(n > 0);
            if (n == 0) n = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            start.Add(i); length.Add(n);
            i += n;
        }
        int count = start.Count;
        var prev = new int[count]; var next = new int[count];
        for (int i = 0; i < count; i++) { prev[i] = i - 1; next[i] = i + 1 < count ? i + 1 : -1; }

        // Agenda: highest score first, then leftmost. Entries carry the merged length to detect staleness.
        var agenda = new PriorityQueue<(int Left, int Right, int Length), (float Score, int Left)>(Comparer<(float Score, int Left)>.Create(
            (a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Left.CompareTo(b.Left)));
        var unusedSplits = new Dictionary<string, (int LeftLength, int RightLength)>();
        void Offer(int left, int right)
        {
            if (left < 0 || right < 0 || frozen[left] || frozen[right]) return;
            var piece = text.AsSpan(start[left], length[left] + length[right]);
            if (!vocab.Matchable.TryGetValue(piece, out int id)) return;
            agenda.Enqueue((left, right, piece.Length), (vocab.Pieces[id].Score, left));
            if (vocab.Pieces[id].Type == PieceType.Unused) unusedSplits[piece.ToString()] = (length[left], length[right]);
        }
        for (int i = 1; i < count; i++) Offer(i - 1, i);

        while (agenda.TryDequeue(out var top, out _))
        {
            if (length[top.Left] == 0 || length[top.Right] == 0 || length[top.Left] + length[top.Right] != top.Length) continue;
            length[top.Left] = top.Length;
            next[top.Left] = next[top.Right];
            if (next[top.Right] >= 0) prev[next[top.Right]] = top.Left;
            length[top.Right] = 0;
            Offer(prev[top.Left], top.Left);
            Offer(top.Left, next[top.Left]);
        }

        var result = new List<(int, int)>(count);
        for (int i = 0; i >= 0 && count > 0; i = next[i]) Resegment(text, start[i], length[i], vocab, unusedSplits, result);
        return result;
    }

    static void Resegment(string text, int start, int length, SentencePieceVocabulary vocab,
        Dictionary<string, (int LeftLength, int RightLength)> unusedSplits, List<(int, int)> output)
    {
        string piece = text.Substring(start, length);
        if (vocab.Matchable.TryGetValue(piece, out int id) && vocab.Pieces[id].Type == PieceType.Unused && unusedSplits.TryGetValue(piece, out var split))
        {
            Resegment(text, start, split.LeftLength, vocab, unusedSplits, output);
            Resegment(text, start + split.LeftLength, split.RightLength, vocab, unusedSplits, output);
            return;
        }
        output.Add((start, length));
    }
}
