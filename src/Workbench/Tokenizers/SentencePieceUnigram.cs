using System.Text;

namespace Workbench.Tokenizers;

/// <summary>
/// sentencepiece's unigram segmentation (unigram_model.cc, EncodeOptimized): Viterbi over character
/// positions, maximizing the sum of piece scores (log-probabilities). A character no piece starts with
/// becomes unk, scored min_score − 10; user-defined pieces score bytes·max_score − 0.1 so they always win.
/// </summary>
public static class SentencePieceUnigram
{
    const float UnkPenalty = 10.0f;

    public static List<(int Start, int Length, int Id)> Segment(string text, SentencePieceVocabulary vocab)
    {
        float unkScore = vocab.MinScore - UnkPenalty;
        int n = text.Length;
        // bestScore[e]: best total score of a segmentation of text[..e]; from[e], id[e]: its last piece.
        var bestScore = new float[n + 1];
        var from = new int[n + 1];
        var id = new int[n + 1];
        Array.Fill(from, -1);

        // The optimized reference adds in double and stores in float; so do we, to break ties identically.
        void Offer(int end, int start, double candidate, int pieceId)
        {
            if (from[end] == -1 || candidate > bestScore[end]) { bestScore[end] = (float)candidate; from[end] = start; id[end] = pieceId; }
        }

        for (int start = 0; start < n;)
        {
            int charLength = char.IsHighSurrogate(text[start]) && start + 1 < n && char.IsLowSurrogate(text[start + 1]) ? 2 : 1;
            float here = bestScore[start];
            bool hasSingle = false;
            for (int length = 1; length <= vocab.MaxPieceLength && start + length <= n; length++)
            {
                var span = text.AsSpan(start, length);
                if (!vocab.Matchable.TryGetValue(span, out int pieceId)) continue;
                var piece = vocab.Pieces[pieceId];
                if (piece.Type == PieceType.Unused) continue;
                double score = piece.Type == PieceType.UserDefined ? Encoding.UTF8.GetByteCount(span) * vocab.MaxScore - 0.1 : piece.Score;
                Offer(start + length, start, score + here, pieceId);
                if (length == charLength) hasSingle = true;
            }
            if (!hasSingle) Offer(start + charLength, start, unkScore + here, vocab.UnkId);
            start += charLength;
        }

        var result = new List<(int, int, int)>();
        for (int end = n; end > 0; end = from[end]) result.Add((from[end], end - from[end], id[end]));
        result.Reverse();
        return result;
    }
}
