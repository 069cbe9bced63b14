using System.Text.Json;

namespace Workbench.Tokenizers;

/// <summary>An entry of tokenizer.json's <c>added_tokens</c>.</summary>
public sealed record AddedToken(int Id, string Content, bool Special, bool SingleWord, bool LStrip, bool RStrip, bool Normalized)
{
    public static AddedToken FromJson(JsonElement e) => new(
        e.GetProperty("id").GetInt32(), e.GetProperty("content").GetString()!,
        PreTokenizers.Flag(e, "special", false), PreTokenizers.Flag(e, "single_word", false),
        PreTokenizers.Flag(e, "lstrip", false), PreTokenizers.Flag(e, "rstrip", false), PreTokenizers.Flag(e, "normalized", true));
}

/// <summary>
/// Added tokens are cut out of the text before the model sees it, as in Hugging Face <c>tokenizers</c>:
/// first those with <c>normalized: false</c> from the raw text, then, after each remaining segment is
/// normalized, those with <c>normalized: true</c> from the normalized segment. Matching is leftmost-longest.
/// </summary>
public sealed class AddedVocabulary
{
    readonly Dictionary<string, AddedToken> byContent = new();
    readonly Dictionary<int, AddedToken> byId = new();
    readonly Trie raw = new(), normalized = new();

    public AddedVocabulary(IEnumerable<AddedToken> tokens, INormalizer? normalizer)
    {
        foreach (var t in tokens)
        {
            byContent[t.Content] = t;
            byId[t.Id] = t;
            if (t.Normalized) normalized.Add(normalizer?.Normalize(t.Content) ?? t.Content, t);
            else raw.Add(t.Content, t);
        }
    }

    public int MaxId => byId.Count == 0 ? -1 : byId.Keys.Max();

    public AddedToken? ById(int id) => byId.GetValueOrDefault(id);

    public AddedToken? ByContent(string content) => byContent.GetValueOrDefault(content);

    /// <summary>A segment of the input: either an added token or text for the model.</summary>
    public readonly record struct Segment(string Text, AddedToken? Token, bool AtTextStart);

    /// <summary>Cuts added tokens out of <paramref name="text"/>, normalizing the text between them.</summary>
    public List<Segment> Extract(string text, INormalizer? normalizer)
    {
        var result = new List<Segment>();
        foreach (var outer in Cut(text, raw, atTextStart: true))
        {
            if (outer.Token != null) { result.Add(outer); continue; }
            string norm = normalizer?.Normalize(outer.Text) ?? outer.Text;
            result.AddRange(Cut(norm, normalized, outer.AtTextStart));
        }
        return result;
    }

    static List<Segment> Cut(string text, Trie trie, bool atTextStart)
    {
        var result = new List<Segment>();
        int done = 0;   // text before this index has been emitted
        for (int i = 0; i < text.Length;)
        {
            var (token, end) = trie.LongestAt(text, i);
            if (token == null) { i++; continue; }
            if (token.SingleWord && !StandsAlone(text, i, end)) { i = end; continue; }   // the match is consumed, as in aho-corasick's find_iter
            int start = i;
            if (token.LStrip) while (start > done && char.IsWhiteSpace(text[start - 1])) start--;
            if (token.RStrip) while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
            if (start > done) result.Add(new Segment(text[done..start], null, atTextStart && done == 0));
            result.Add(new Segment(text[start..end], token, atTextStart && start == 0));
            done = i = end;
        }
        if (done < text.Length) result.Add(new Segment(text[done..], null, atTextStart && done == 0));
        return result;
    }

    /// <summary>single_word: no word character touches the match on either side.</summary>
    static bool StandsAlone(string text, int start, int end) =>
        (start == 0 || !IsWordChar(text[start - 1])) && (end == text.Length || !IsWordChar(text[end]));

    static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';

    /// <summary>A character trie for leftmost-longest matching.</summary>
    sealed class Trie
    {
        sealed class Node
        {
            public Dictionary<char, Node>? Children;
            public AddedToken? Token;
        }

        readonly Node root = new();

        public void Add(string content, AddedToken token)
        {
            if (content.Length == 0) return;
            var node = root;
            foreach (char c in content)
            {
                node.Children ??= new Dictionary<char, Node>();
                if (!node.Children.TryGetValue(c, out var child)) node.Children[c] = child = new Node();
                node = child;
            }
            node.Token = token;
        }

        /// <summary>The longest token starting at <paramref name="start"/> and where it ends.</summary>
        public (AddedToken? Token, int End) LongestAt(string text, int start)
        {
            AddedToken? best = null;
            int bestEnd = start;
            var node = root;
            for (int i = start; i < text.Length && node.Children != null && node.Children.TryGetValue(text[i], out node); i++)
                if (node.Token != null) { best = node.Token; bestEnd = i + 1; }
            return (best, bestEnd);
        }
    }
}
