using System.Text.Json;
using System.Text.RegularExpressions;

namespace Workbench.Tokenizers;

/// <summary>A tokenizer.json pre-tokenizer: splits normalized text into the words BPE sees.</summary>
public interface IPreTokenizer
{
    /// <summary>Splits one piece; <paramref name="atTextStart"/> says it begins the original text.</summary>
    IEnumerable<string> Split(string piece, bool atTextStart);
}

/// <summary>The pre-tokenizers of tokenizer.json that the supported files use.</summary>
public static class PreTokenizers
{
    /// <summary>GPT-2's word regex, used by ByteLevel with use_regex.</summary>
    const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public static IPreTokenizer? FromJson(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Null) return null;
        string type = e.GetProperty("type").GetString()!;
        return type switch
        {
            "ByteLevel" => new ByteLevel(Flag(e, "add_prefix_space", true), Flag(e, "use_regex", true)),
            "Split" => new PatternSplit(JsonPattern.FromJson(e.GetProperty("pattern"), "Split pre-tokenizer"),
                Enum.Parse<SplitBehavior>(e.GetProperty("behavior").GetString()!), Flag(e, "invert", false)),
            "Metaspace" => new Metaspace(e.GetProperty("replacement").GetString()!,
                e.TryGetProperty("prepend_scheme", out var s) ? s.GetString()! : Flag(e, "add_prefix_space", true) ? "always" : "never",
                Flag(e, "split", true)),
            "Sequence" => new Sequence(e.GetProperty("pretokenizers").EnumerateArray().Select(p => FromJson(p)!).ToArray()),
            _ => throw new NotSupportedException($"tokenizer.json: pre-tokenizer type '{type}' is not supported"),
        };
    }

    internal static bool Flag(JsonElement e, string name, bool fallback) =>
        e.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;

    public enum SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

    /// <summary>
    /// Splits text at matches of a pattern. The text is cut into alternating (span, isMatch) parts,
    /// which the behaviour then keeps, drops or glues to a neighbour; empty parts are dropped.
    /// </summary>
    public static IEnumerable<string> SplitBy(string text, IEnumerable<(int Start, int Length)> matches, SplitBehavior behavior, bool invert = false)
    {
        var parts = new List<(int Start, int End, bool IsMatch)>();
        int prev = 0;
        foreach (var (start, length) in matches)
        {
            if (start > prev) parts.Add((prev, start, invert));
            parts.Add((start, start + length, !invert));
            prev = start + length;
        }
        if (prev < text.Length) parts.Add((prev, text.Length, invert));

        var kept = new List<(int Start, int End)>();
        bool previousMatch = false;
        switch (behavior)
        {
            case SplitBehavior.Removed:
                kept.AddRange(parts.Where(p => !p.IsMatch).Select(p => (p.Start, p.End)));
                break;
            case SplitBehavior.Isolated:
                kept.AddRange(parts.Select(p => (p.Start, p.End)));
                break;
            case SplitBehavior.MergedWithPrevious:   // a match joins the part before it
                foreach (var p in parts)
                {
                    if (p.IsMatch && !previousMatch && kept.Count > 0) kept[^1] = (kept[^1].Start, p.End);
                    else kept.Add((p.Start, p.End));
                    previousMatch = p.IsMatch;
                }
                break;
            case SplitBehavior.MergedWithNext:       // a match joins the part after it
                for (int i = parts.Count - 1; i >= 0; i--)
                {
                    var p = parts[i];
                    if (p.IsMatch && !previousMatch && kept.Count > 0) kept[^1] = (p.Start, kept[^1].End);
                    else kept.Add((p.Start, p.End));
                    previousMatch = p.IsMatch;
                }
                kept.Reverse();
                break;
            case SplitBehavior.Contiguous:           // runs of matches become one part
                foreach (var p in parts)
                {
                    if (p.IsMatch == previousMatch && kept.Count > 0) kept[^1] = (kept[^1].Start, p.End);
                    else kept.Add((p.Start, p.End));
                    previousMatch = p.IsMatch;
                }
                break;
        }
        return kept.Where(k => k.End > k.Start).Select(k => text[k.Start..k.End]);
    }

    /// <summary>Byte-level: optional leading space, GPT-2 word split, then bytes as <see cref="ByteLevelAlphabet"/> characters.</summary>
    sealed class ByteLevel(bool addPrefixSpace, bool useRegex) : IPreTokenizer
    {
        static readonly Regex Words = new(Gpt2Pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);

        public IEnumerable<string> Split(string piece, bool atTextStart)
        {
            if (addPrefixSpace && !piece.StartsWith(' ')) piece = " " + piece;
            var words = useRegex ? SplitBy(piece, Words.Matches(piece).Select(m => (m.Index, m.Length)), SplitBehavior.Isolated) : [piece];
            return words.Select(ByteLevelAlphabet.Encode);
        }
    }

    sealed class PatternSplit(JsonPattern pattern, SplitBehavior behavior, bool invert) : IPreTokenizer
    {
        public IEnumerable<string> Split(string piece, bool atTextStart) => SplitBy(piece, pattern.Matches(piece), behavior, invert);
    }

    /// <summary>SentencePiece style: spaces become the replacement ("▁"), which is prepended per the scheme; optional split before each.</summary>
    sealed class Metaspace(string replacement, string prependScheme, bool split) : IPreTokenizer
    {
        public IEnumerable<string> Split(string piece, bool atTextStart)
        {
            piece = piece.Replace(" ", replacement, StringComparison.Ordinal);
            bool prepend = prependScheme == "always" || (prependScheme == "first" && atTextStart);
            if (prepend && !piece.StartsWith(replacement, StringComparison.Ordinal)) piece = replacement + piece;
            if (!split) return [piece];
            return SplitBy(piece, spaces.Matches(piece), SplitBehavior.MergedWithNext);
        }

        readonly JsonPattern spaces = JsonPattern.Literal(replacement);
    }

    sealed class Sequence(IPreTokenizer[] steps) : IPreTokenizer
    {
        public IEnumerable<string> Split(string piece, bool atTextStart)
        {
            IEnumerable<string> pieces = [piece];
            foreach (var step in steps)
                pieces = pieces.SelectMany((p, i) => step.Split(p, atTextStart && i == 0)).ToList();
            return pieces;
        }
    }
}
