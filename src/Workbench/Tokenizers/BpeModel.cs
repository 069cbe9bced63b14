using System.Collections.Concurrent;
using System.Text;

namespace Workbench.Tokenizers;

/// <summary>
/// The BPE model of Hugging Face <c>tokenizers</c>: a word is split into characters (or their
/// <c>&lt;0xNN&gt;</c> bytes with byte fallback, or unk), then the adjacent pair with the lowest merge
/// rank is merged until none is left. A priority queue of (rank, position) makes this O(n log n),
/// and results for short words are cached.
/// </summary>
public sealed class BpeModel
{
    const int MaxCachedWordLength = 256, MaxCacheEntries = 100_000;

    readonly Dictionary<string, int> vocab;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> vocabBySpan;
    readonly string?[] idToToken;
    readonly Dictionary<long, (int Rank, int NewId)> merges;   // key: (left id << 32) | right id
    readonly int[]? byteIds;                                     // id of "<0xNN>" for each byte, when byte_fallback
    readonly int? unkId;
    readonly bool fuseUnk, ignoreMerges;
    readonly string? prefix, suffix;                             // continuing_subword_prefix, end_of_word_suffix
    readonly ConcurrentDictionary<string, int[]> cache = new();

    public BpeModel(Dictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> mergeList, string? unkToken = null,
        bool byteFallback = false, bool fuseUnk = false, bool ignoreMerges = false, string? continuingSubwordPrefix = null, string? endOfWordSuffix = null)
    {
        this.vocab = vocab;
        vocabBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        idToToken = new string?[vocab.Count == 0 ? 0 : vocab.Values.Max() + 1];
        foreach (var (token, id) in vocab) idToToken[id] = token;
        this.fuseUnk = fuseUnk;
        this.ignoreMerges = ignoreMerges;
        prefix = string.IsNullOrEmpty(continuingSubwordPrefix) ? null : continuingSubwordPrefix;
        suffix = string.IsNullOrEmpty(endOfWordSuffix) ? null : endOfWordSuffix;
        if (unkToken != null)
            unkId = vocab.TryGetValue(unkToken, out int u) ? u : throw new FormatException($"BPE: unk_token '{unkToken}' is not in the vocabulary");
        if (byteFallback)
        {
            byteIds = new int[256];
            for (int b = 0; b < 256; b++) byteIds[b] = vocab.GetValueOrDefault($"<0x{b:X2}>", -1);
        }
        merges = new Dictionary<long, (int, int)>(mergeList.Count);
        int prefixLength = prefix?.Length ?? 0;
        for (int rank = 0; rank < mergeList.Count; rank++)
        {
            var (left, right) = mergeList[rank];
            if (!vocab.TryGetValue(left, out int a) || !vocab.TryGetValue(right, out int b))
                throw new FormatException($"BPE: merge {rank} '{left} {right}' uses a token that is not in the vocabulary");
            string merged = left + right[Math.Min(prefixLength, right.Length)..];
            if (!vocab.TryGetValue(merged, out int id))
                throw new FormatException($"BPE: merge {rank} '{left} {right}' makes '{merged}', which is not in the vocabulary");
            merges[Key(a, b)] = (rank, id);   // a repeated pair keeps its last rank, as in tokenizers
        }
    }

    public int MaxId => idToToken.Length - 1;

    public string? IdToToken(int id) => (uint)id < (uint)idToToken.Length ? idToToken[id] : null;

    public int? TokenToId(string token) => vocab.TryGetValue(token, out int id) ? id : null;

    static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>Appends the ids of one pre-tokenized word.</summary>
    public void Tokenize(string word, List<int> output)
    {
        if (word.Length == 0) return;
        if (ignoreMerges && vocab.TryGetValue(word, out int whole)) { output.Add(whole); return; }
        if (cache.TryGetValue(word, out var hit)) { output.AddRange(hit); return; }
        var ids = Merge(word);
        if (word.Length < MaxCachedWordLength)
        {
            if (cache.Count >= MaxCacheEntries) cache.Clear();
            cache[word] = ids;
        }
        output.AddRange(ids);
    }

    /// <summary>The initial symbols of a word: one per character, else its bytes, else unk.</summary>
    List<int> InitialSymbols(string word)
    {
        var symbols = new List<int>(word.Length);
        int pendingUnk = -1;
        Span<byte> utf8 = stackalloc byte[4];
        int pos = 0;
        foreach (var rune in word.EnumerateRunes())
        {
            int length = rune.Utf16SequenceLength;
            bool first = pos == 0, last = pos + length == word.Length;
            ReadOnlySpan<char> symbol = word.AsSpan(pos, length);
            pos += length;
            string? decorated = (!first && prefix != null) || (last && suffix != null)
                ? (first ? "" : prefix) + symbol.ToString() + (last ? suffix : "") : null;
            if (decorated != null ? vocab.TryGetValue(decorated, out int id) : vocabBySpan.TryGetValue(symbol, out id))
            {
                if (pendingUnk >= 0) { symbols.Add(pendingUnk); pendingUnk = -1; }
                symbols.Add(id);
                continue;
            }
            if (byteIds != null)
            {
                int n = decorated != null ? Encoding.UTF8.GetByteCount(decorated) : rune.EncodeToUtf8(utf8);
                byte[] bytes = decorated != null ? Encoding.UTF8.GetBytes(decorated) : utf8[..n].ToArray();
                if (bytes.All(b => byteIds[b] >= 0))
                {
                    foreach (byte b in bytes) symbols.Add(byteIds[b]);
                    continue;
                }
            }
            if (unkId is int unk)
            {
                if (pendingUnk >= 0 && !fuseUnk) symbols.Add(pendingUnk);
                pendingUnk = unk;
            }
        }
        if (pendingUnk >= 0) symbols.Add(pendingUnk);
        return symbols;
    }

    int[] Merge(string word)
    {
        var sym = InitialSymbols(word);
        int n = sym.Count;
        // A doubly linked list over the symbols; merging pos with its next removes the next.
        var prev = new int[n];
        var next = new int[n];
        var alive = new bool[n];
        for (int i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; alive[i] = true; }
        // Queue entries: (position of the left symbol, id the merge makes), lowest rank first, then leftmost.
        var queue = new PriorityQueue<(int Pos, int NewId), long>();
        void Offer(int left)
        {
            if (left < 0 || next[left] < 0) return;
            if (merges.TryGetValue(Key(sym[left], sym[next[left]]), out var m)) queue.Enqueue((left, m.NewId), ((long)m.Rank << 32) | (uint)left);
        }
        for (int i = 0; i + 1 < n; i++) Offer(i);
        while (queue.TryDequeue(out var top, out _))
        {
            int pos = top.Pos;
            if (!alive[pos] || next[pos] < 0) continue;
            int right = next[pos];
            // Stale entry: the pair at pos has changed since it was queued.
            if (!merges.TryGetValue(Key(sym[pos], sym[right]), out var m) || m.NewId != top.NewId) continue;
            sym[pos] = m.NewId;
            alive[right] = false;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            Offer(prev[pos]);
            Offer(pos);
        }
        var result = new List<int>(n);
        for (int i = 0; i < n; i++) if (alive[i]) result.Add(sym[i]);
        return result.ToArray();
    }
}
