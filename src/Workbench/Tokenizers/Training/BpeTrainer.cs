using System.Runtime.InteropServices;
using System.Text;

namespace Workbench.Tokenizers.Training;

/// <summary>What <see cref="BpeTrainer"/> learns: the vocabulary (index = id) and the merges in rank order.</summary>
public sealed record BpeVocabulary(IReadOnlyList<string> Tokens, IReadOnlyList<(string Left, string Right)> Merges);

/// <summary>
/// Learns BPE merges from word counts exactly as Hugging Face tokenizers' <c>BpeTrainer</c> (models/bpe/trainer.rs) does,
/// so the same words give the same vocabulary, ids and merges:
/// <list type="number">
/// <item>ids: the special tokens, then the alphabet (every character of the words plus <c>initialAlphabet</c>) sorted by code point;</item>
/// <item>pair counts (Σ word count over adjacent symbol pairs) with, per pair, the set of words holding it;</item>
/// <item>repeatedly the pair with the highest count is merged, ties going to the smallest (left id, right id);
///   a queue entry whose count is stale is pushed back with the current count (lazy max-heap);</item>
/// <item>a merge rewrites only the words in that queue entry's set, updates the neighbour pairs' counts by ± word count,
///   and queues the pairs it created with the words that gained them.</item>
/// </list>
/// Like tokenizers, the merged pair's own count is not decremented, a merge whose string already is a token reuses that
/// id (vocabulary does not grow), and a pair merged twice keeps its last rank. Training stops at <c>vocabSize</c> tokens,
/// when the queue is empty, or when the best count is below <c>minFrequency</c> (or 1).
/// </summary>
public sealed class BpeTrainer(int vocabSize, long minFrequency = 0, IReadOnlyList<string>? specialTokens = null, IEnumerable<char>? initialAlphabet = null)
{
    /// <summary>A queue entry: a pair, the count it was pushed with, and the words to rewrite when it wins.</summary>
    sealed record Candidate(long Pair, long Count, HashSet<int> Words);

    static long Key(int left, int right) => ((long)left << 32) | (uint)right;
    static int Left(long pair) => (int)(pair >> 32);
    static int Right(long pair) => (int)(uint)pair;

    public BpeVocabulary Train(IReadOnlyDictionary<string, long> wordCounts)
    {
        var tokens = new List<string>();
        var ids = new Dictionary<string, int>();
        void Add(string token) { if (ids.TryAdd(token, tokens.Count)) tokens.Add(token); }

        // 1. Special tokens, 2. the alphabet sorted by code point (tokenizers sorts chars as u32).
        foreach (var s in specialTokens ?? []) Add(s);
        var alphabet = new SortedSet<Rune>((initialAlphabet ?? []).Select(c => new Rune(c)));
        foreach (var word in wordCounts.Keys) alphabet.UnionWith(word.EnumerateRunes());
        foreach (var c in alphabet) Add(c.ToString());
        var runeIds = alphabet.ToDictionary(c => c.Value, c => ids[c.ToString()]);

        // 3. Words as symbol ids, 4. pair counts and where each pair occurs.
        var words = new int[wordCounts.Count][];
        var lengths = new int[words.Length];
        var counts = new long[words.Length];
        int w = 0;
        foreach (var (word, count) in wordCounts)
        {
            words[w] = word.EnumerateRunes().Select(c => runeIds[c.Value]).ToArray();
            lengths[w] = words[w].Length;
            counts[w++] = count;
        }
        var pairCounts = new Dictionary<long, long>();
        var whereToUpdate = new Dictionary<long, HashSet<int>>();
        for (int i = 0; i < words.Length; i++)
            for (int j = 0; j + 1 < lengths[i]; j++)
                Change(Key(words[i][j], words[i][j + 1]), +1, i);

        // Highest count first, then the smallest pair: the min-heap orders by (-count, pair).
        var queue = new PriorityQueue<Candidate, (long, long)>();
        void Push(Candidate c) => queue.Enqueue(c, (-c.Count, c.Pair));
        void QueueNewPairs()
        {
            foreach (var (pair, where) in whereToUpdate)
                if (pairCounts[pair] > 0) Push(new Candidate(pair, pairCounts[pair], where));
            whereToUpdate.Clear();
        }
        QueueNewPairs();

        // 5. Merges.
        var merges = new List<long>();
        while (ids.Count < vocabSize && queue.TryDequeue(out var top, out _))
        {
            long current = pairCounts[top.Pair];
            if (top.Count != current) { Push(top with { Count = current }); continue; }
            if (top.Count < 1 || top.Count < minFrequency) break;

            int a = Left(top.Pair), b = Right(top.Pair);
            string merged = tokens[a] + tokens[b];
            if (!ids.TryGetValue(merged, out int id)) { id = tokens.Count; Add(merged); }
            merges.Add(top.Pair);
            foreach (int i in top.Words) MergeWord(i, a, b, id);
            QueueNewPairs();
        }

        // A pair merged more than once keeps its last rank (tokenizers collects merges into a map keyed by pair).
        var lastRank = new Dictionary<long, int>();
        for (int r = 0; r < merges.Count; r++) lastRank[merges[r]] = r;
        var ordered = lastRank.OrderBy(p => p.Value).Select(p => (tokens[Left(p.Key)], tokens[Right(p.Key)])).ToList();
        return new BpeVocabulary(tokens, ordered);

        void Change(long pair, int delta, int word)
        {
            CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, pair, out _) += delta * counts[word];
            if (delta > 0) (CollectionsMarshal.GetValueRefOrAddDefault(whereToUpdate, pair, out _) ??= []).Add(word);
        }

        // Word::merge of tokenizers: left to right, each (a, b) becomes id; the pairs around it change.
        void MergeWord(int word, int a, int b, int id)
        {
            var sym = words[word];
            int n = lengths[word];
            for (int i = 0; i < n; i++)
            {
                if (sym[i] != a || i + 1 >= n || sym[i + 1] != b) continue;
                if (i > 0)
                {
                    Change(Key(sym[i - 1], a), -1, word);
                    Change(Key(sym[i - 1], id), +1, word);
                }
                sym[i] = id;
                Array.Copy(sym, i + 2, sym, i + 1, n - i - 2);
                n--;
                if (i < n - 1)
                {
                    Change(Key(b, sym[i + 1]), -1, word);
                    Change(Key(id, sym[i + 1]), +1, word);
                }
            }
            lengths[word] = n;
        }
    }
}
