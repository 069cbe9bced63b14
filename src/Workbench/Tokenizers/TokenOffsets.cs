namespace Workbench.Tokenizers;

/// <summary>
/// Where each token of a text came from, found by decoding: tokens are decoded a group at a time (a group ends
/// where its text is whole; byte-level pieces of one character decode to U+FFFD until the last) and the group's
/// text is looked up at the current position, past whitespace (the "Ġ"/"▁" a token carries decodes to a space).
/// Every token of a group gets the group's range; a group whose text is not found in the input (a normaliser
/// changed it, an unknown token) gets an empty range where the previous one ended.
/// </summary>
internal static class TokenOffsets
{
    public static Range[] Of(ITokenizer tokenizer, string text, int[] ids)
    {
        var ranges = new Range[ids.Length];
        int position = 0, groupStart = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            string piece = tokenizer.Decode(ids[groupStart..(i + 1)], skipSpecialTokens: false);
            if (piece.EndsWith('\uFFFD') && i + 1 < ids.Length) continue;
            string core = piece.Trim();
            int at = core.Length == 0 ? -1 : text.IndexOf(core, position, StringComparison.Ordinal);
            var range = at >= 0 && text.AsSpan(position, at - position).IsWhiteSpace()
                ? new Range(position, at + core.Length)
                : new Range(position, position);
            for (int j = groupStart; j <= i; j++) ranges[j] = range;
            position = range.End.Value;
            groupStart = i + 1;
        }
        return ranges;
    }

    /// <summary>The most leading tokens, at most <paramref name="max"/>, that end on a whole group.</summary>
    public static int WholeTokens(Range[] ranges, int max)
    {
        int count = Math.Min(max, ranges.Length);
        while (count > 0 && count < ranges.Length && ranges[count].Equals(ranges[count - 1])) count--;
        return count;
    }

    /// <summary>The most trailing tokens, at most <paramref name="max"/>, that start on a whole group.</summary>
    public static int WholeTokensFromEnd(Range[] ranges, int max)
    {
        int count = Math.Min(max, ranges.Length);
        while (count > 0 && count < ranges.Length && ranges[^count].Equals(ranges[^(count + 1)])) count--;
        return count;
    }
}
