using Workbench.Data.Preferences;

namespace Workbench.Tests.Data;

public class MinHashTests
{
    private static double Jaccard(string a, string b, int n)
    {
        HashSet<string> Shingles(string s) => Enumerable.Range(0, Math.Max(1, s.Length - n + 1)).Select(i => s.Substring(i, Math.Min(n, s.Length - i))).ToHashSet();
        var (x, y) = (Shingles(a), Shingles(b));
        return (double)x.Intersect(y).Count() / x.Union(y).Count();
    }

    /// <summary>The estimate is a mean of k = 128 indicators: within 4σ = 4√(J(1 − J)/k) of the exact Jaccard similarity.</summary>
    [Theory]
    [InlineData("다음 문장은 긍정일까요 부정일까요? 영화가 정말 재미있었다", "다음 문장은 긍정일까요 부정일까요? 영화가 정말 재미없었다")]
    [InlineData("Once upon a time there was a little girl named Lily.", "Once upon a time there was a little boy named Tim who liked cars.")]
    [InlineData("the cat sat on the mat", "a completely different sentence about nothing")]
    public void EstimatesTheJaccardSimilarityOfCharacterNGrams(string a, string b)
    {
        var minhash = new MinHash(ngram: 5);
        double exact = Jaccard(a, b, 5), estimate = MinHash.Similarity(minhash.Signature(a), minhash.Signature(b));
        double sigma = Math.Sqrt(Math.Max(exact * (1 - exact), 0.01) / MinHash.Permutations);
        Assert.True(Math.Abs(estimate - exact) <= 4 * sigma, $"estimate {estimate}, exact {exact}");
        Assert.Equal(1.0, MinHash.Similarity(minhash.Signature(a), minhash.Signature(a)));
    }

    [Fact]
    public void DropsNearDuplicatesAndKeepsTheFirstOfEach()
    {
        string[] texts =
        [
            "문장: 아 더빙 진짜 짜증나네요 목소리\n감정:",
            "문장: 흠포스터보고 초딩영화줄오버연기조차 가볍지 않구나\n감정:",
            "문장: 아 더빙 진짜 짜증나네요 목소리!\n감정:",
            "문장: 교도소 이야기구먼 솔직히 재미는 없다평점 조정\n감정:",
        ];
        // texts 0 and 2: 19 shared 5-grams of 28 (J ≈ 0.68); the others share only "문장: " and "\n감정:"
        var (kept, duplicates) = new MinHash().Deduplicate(texts, threshold: 0.5);
        Assert.Equal([0, 1, 3], kept);
        Assert.Equal([(2, 0)], duplicates);
        Assert.Equal(4, new MinHash().Deduplicate(texts, threshold: 1.01).Kept.Count);
    }
}
