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
    const int MaxCachedWordLength = 256, MaxCacheEntries = 500_000;

    readonly Dictionary<string, int> vocab;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> vocabBySpan;
    readonly string?[] idToToken;
    readonly Dictionary<long, (int Rank, int NewId)> merges;   // key: (left id << 32) | right id
    readonly int[]? byteIds;                                     // id of "<0xNN>" for each byte, when byte_fallback
    readonly int? unkId;
    readonly bool fuseUnk, ignoreMerges;
    readonly string? prefix, suffix;                             // continuing_subword_prefix, end_of_word_suffix
    readonly ConcurrentDictionary<string, int[]> cache = new();
    int cacheCount;

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
        // Like tokenizers, a full cache stops taking words rather than evicting.
        if (word.Length < MaxCachedWordLength && cacheCount < MaxCacheEntries && cache.TryAdd(word, ids)) Interlocked.Increment(ref cacheCount);
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

    [ThreadStatic] static PriorityQueue<(int Pos, int NewId), long>? queueCache;

    int[] Merge(string word)
    {
        var symbols = InitialSymbols(word);
        int n = symbols.Count;
        if (n < 2) return symbols.ToArray();
        var sym = symbols.ToArray();
        // A doubly linked list over the symbols; merging pos with its next removes the next (marked by id -1).
        var prev = new int[n];
        var next = new int[n];
        for (int i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; }
        // Queue entries: (position of the left symbol, id the merge makes), lowest rank first, then leftmost.
        var queue = queueCache ??= new PriorityQueue<(int, int), long>();
        queue.Clear();
        for (int i = 0; i + 1 < n; i++) Offer(i, sym, next, queue);
        while (queue.TryDequeue(out var top, out _))
        {
            int pos = top.Pos, right = next[pos];
            if (sym[pos] < 0 || right < 0) continue;
            // Stale entry: the pair at pos has changed since it was queued.
            if (!merges.TryGetValue(Key(sym[pos], sym[right]), out var m) || m.NewId != top.NewId) continue;
            sym[pos] = m.NewId;
            sym[right] = -1;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            if (prev[pos] >= 0) Offer(prev[pos], sym, next, queue);
            Offer(pos, sym, next, queue);
        }
        int kept = 0;
        for (int i = 0; i < n; i++) if (sym[i] >= 0) sym[kept++] = sym[i];
        return sym[..kept];
    }

    void Offer(int left, int[] sym, int[] next, PriorityQueue<(int, int), long> queue)
    {
        int right = next[left];
        if (right >= 0 && merges.TryGetValue(Key(sym[left], sym[right]), out var m))
            queue.Enqueue((left, m.NewId), ((long)m.Rank << 32) | (uint)left);
    }
}
