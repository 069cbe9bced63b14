using Workbench.Tests.Support;
using MlTokenizer = Microsoft.ML.Tokenizers.Tokenizer;

namespace Workbench.Tests.Tokenizers;

/// <summary>
/// Every shipped tokenizer, handed to code that takes a Microsoft.ML.Tokenizers.Tokenizer, gives our ids (without
/// special tokens, as Hugging Face's add_special_tokens=False) on the NSMC sample, and its counts, decoding and
/// token-budget cuts agree with them.
/// </summary>
public class MlTokenizerTests
{
    public static TheoryData<string> Shipped() =>
    [
        .. Directory.GetDirectories(RepoPaths.Data("tokenizers")).Order(),
        .. Directory.GetDirectories(RepoPaths.Data("models")).Order(),
    ];

    /// <summary>The NSMC sample's reviews (id, document, label per line after the header).</summary>
    private static readonly string[] Reviews = new[] { "ratings_test_600.txt", "ratings_train_2000.txt" }
        .SelectMany(f => File.ReadLines(RepoPaths.Data($"nsmc/{f}")).Skip(1))
        .Select(l => l.Split('\t')[1]).Where(t => t.Length > 0).ToArray();

    [Theory]
    [MemberData(nameof(Shipped))]
    public void IdsThroughTheAbstractionAreOurs(string folder)
    {
        var ours = Workbench.Tokenizers.Tokenizer.Load(folder);
        MlTokenizer ml = ours;
        foreach (var text in Reviews)
        {
            int[] ids = ours.Encode(text, addSpecialTokens: false);
            Assert.Equal(ids, ml.EncodeToIds(text));
            Assert.Equal(ids.Length, ml.CountTokens(text));
            Assert.Equal(ours.Decode(ids), ml.Decode(ids));
        }
    }

    [Theory]
    [MemberData(nameof(Shipped))]
    public void TokenBudgetsCutAtWholeTokens(string folder)
    {
        MlTokenizer ml = Workbench.Tokenizers.Tokenizer.Load(folder);
        foreach (var text in Reviews.Take(300))
        {
            var ids = ml.EncodeToIds(text);
            int budget = Math.Max(1, ids.Count / 2);
            int index = ml.GetIndexByTokenCount(text, budget, out _, out int count);
            Assert.InRange(count, 0, budget);
            Assert.InRange(index, 0, text.Length);
            Assert.Equal(ids.Take(count), ml.EncodeToIds(text, budget, out _, out int consumed));
            Assert.Equal(index, consumed);
            Assert.Equal(ml.Decode(ids.Take(count)).Trim(), text[..index].Trim());   // the cut text is what those tokens spell
            var tokens = ml.EncodeToTokens(text, out _);
            Assert.Equal(ids, tokens.Select(t => t.Id));
        }
        Assert.Equal((0, 0), (ml.GetIndexByTokenCount("", 3, out _, out int none), none));
    }

    [Fact]
    public void DecodingIntoASpanStopsAtTheLastWholeToken()
    {
        MlTokenizer ml = Workbench.Tokenizers.Tokenizer.Load(RepoPaths.Data("models/ko-tiny"));
        var ids = ml.EncodeToIds("재밌어요 정말로");
        string text = ml.Decode(ids);
        var buffer = new char[text.Length];
        Assert.Equal(System.Buffers.OperationStatus.Done, ml.Decode(ids, buffer, out int used, out int written));
        Assert.Equal((ids.Count, text), (used, new string(buffer, 0, written)));
        Assert.Equal(System.Buffers.OperationStatus.DestinationTooSmall, ml.Decode(ids, buffer.AsSpan(0, 3), out used, out written));
        Assert.True(used < ids.Count && written <= 3);
    }
}
