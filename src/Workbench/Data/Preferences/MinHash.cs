namespace Workbench.Data.Preferences;

/// <summary>
/// Near-duplicate detection by MinHash over character n-grams (Broder 1997), the way dataset builders deduplicate prompts:
/// a text's shingles are its overlapping <c>n</c>-character windows (the whole text when shorter), each hashed to 64 bits
/// (FNV-1a over UTF-16 code units) and mapped through <see cref="Permutations"/> universal hashes
/// h_i(x) = (a_i·x + b_i) mod (2^61 − 1) with a_i, b_i drawn from <see cref="SplitMix64"/>(seed); the signature keeps each
/// h_i's minimum. The fraction of equal signature entries estimates the Jaccard similarity |A ∩ B| / |A ∪ B| of the
/// shingle sets with standard deviation √(J(1 − J)/k). Candidates are found by LSH: bands of <see cref="RowsPerBand"/>
/// entries hashed to buckets; two texts are compared only when some band matches.
/// </summary>
public sealed class MinHash
{
    public const int Permutations = 128;
    public const int RowsPerBand = 4;
    private const ulong Prime = (1UL << 61) - 1;

    private readonly ulong[] a = new ulong[Permutations], b = new ulong[Permutations];

    public int NGram { get; }

    public MinHash(int ngram = 5, ulong seed = 42)
    {
        if (ngram < 1) throw new ArgumentException($"MinHash: n-gram length must be positive, got {ngram}");
        NGram = ngram;
        var rng = new SplitMix64(seed);
        for (int i = 0; i < Permutations; i++) (a[i], b[i]) = (1 + rng.NextBelow(Prime - 1), rng.NextBelow(Prime));
    }

    /// <summary>The k = 128 minima of h_i over the text's shingles.</summary>
    public ulong[] Signature(string text)
    {
        var signature = Enumerable.Repeat(ulong.MaxValue, Permutations).ToArray();
        int windows = Math.Max(1, text.Length - NGram + 1);
        for (int start = 0; start < windows; start++)
        {
            ulong x = Fnv1a(text.AsSpan(start, Math.Min(NGram, text.Length - start))) % Prime;
            for (int i = 0; i < Permutations; i++)
            {
                // h_i(x) = (a_i·x + b_i) mod p, in 128-bit arithmetic
                ulong h = (ulong)(((UInt128)a[i] * x + b[i]) % Prime);
                if (h < signature[i]) signature[i] = h;
            }
        }
        return signature;
    }

    /// <summary>The estimated Jaccard similarity: the fraction of equal entries.</summary>
    public static double Similarity(ulong[] x, ulong[] y) => (double)x.Zip(y).Count(p => p.First == p.Second) / Permutations;

    /// <summary>
    /// Which texts to keep: each text in order is dropped when its estimated similarity to an earlier kept text is at least
    /// <paramref name="threshold"/>; returns the kept indices and, for each dropped one, the index it duplicates.
    /// </summary>
    public (List<int> Kept, List<(int Dropped, int Of)> Duplicates) Deduplicate(IReadOnlyList<string> texts, double threshold)
    {
        var buckets = new Dictionary<(int Band, ulong Hash), List<int>>();
        var signatures = new ulong[texts.Count][];
        var kept = new List<int>();
        var duplicates = new List<(int, int)>();
        for (int t = 0; t < texts.Count; t++)
        {
            var s = signatures[t] = Signature(texts[t]);
            var keys = Enumerable.Range(0, Permutations / RowsPerBand).Select(band => (band, BandHash(s, band))).ToList();
            int? of = keys.SelectMany(k => buckets.TryGetValue(k, out var list) ? list : []).Distinct().Order()
                .Cast<int?>().FirstOrDefault(k => Similarity(signatures[k!.Value], s) >= threshold);
            if (of is int original) { duplicates.Add((t, original)); continue; }
            kept.Add(t);
            foreach (var k in keys) (buckets.TryGetValue(k, out var list) ? list : buckets[k] = []).Add(t);
        }
        return (kept, duplicates);
    }

    private static ulong BandHash(ulong[] signature, int band)
    {
        ulong h = 14695981039346656037UL;
        for (int r = band * RowsPerBand; r < (band + 1) * RowsPerBand; r++) h = (h ^ signature[r]) * 1099511628211UL;
        return h;
    }

    /// <summary>FNV-1a, 64-bit, over UTF-16 code units.</summary>
    private static ulong Fnv1a(ReadOnlySpan<char> text)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in text) h = (h ^ c) * 1099511628211UL;
        return h;
    }
}
