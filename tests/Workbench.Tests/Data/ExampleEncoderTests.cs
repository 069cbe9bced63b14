using System.Text;
using Workbench.Data;
using Workbench.Tests.Support;

namespace Workbench.Tests.Data;

public class ExampleEncoderTests
{
    const int Ignore = TrainingExample.IgnoreIndex;
    static int[] Bytes(string s) => Encoding.UTF8.GetBytes(s).Select(b => (int)b).ToArray();

    [Fact]
    public void CompletionOnlyMasksExactlyThePromptTokens()
    {
        var tok = new ByteTokenizer();
        var pair = new PromptPair("Q:", " 가");
        var ex = ExampleEncoder.Encode(tok, pair, new EncodeOptions(MaxLength: 64));
        int[] expectedIds = [.. Bytes("Q:"), .. Bytes(" 가"), ByteTokenizer.Eos];
        Assert.Equal(expectedIds, ex.InputIds);
        Assert.Equal([Ignore, Ignore, .. Bytes(" 가"), ByteTokenizer.Eos], ex.Labels);
        Assert.Equal(5, ex.TargetCount);
    }

    [Fact]
    public void FullSequenceTrainingKeepsEveryLabel()
    {
        var ex = ExampleEncoder.Encode(new ByteTokenizer(), new PromptPair("ab", "c"), new EncodeOptions(64, CompletionOnly: false, AppendEos: false));
        Assert.Equal(Bytes("abc"), ex.InputIds);
        Assert.Equal(Bytes("abc"), ex.Labels);
    }

    [Fact]
    public void BosFromTheTokenizerIsPartOfThePromptAndMasked()
    {
        var ex = ExampleEncoder.Encode(new ByteTokenizer(addBos: true), new PromptPair("a", "b"), new EncodeOptions(64));
        Assert.Equal([ByteTokenizer.Bos, 'a', 'b', ByteTokenizer.Eos], ex.InputIds);
        Assert.Equal([Ignore, Ignore, 'b', ByteTokenizer.Eos], ex.Labels);
    }

    [Fact]
    public void EosIsNotDoubledWhenTheOutputAlreadyEndsWithIt()
    {
        // KoAlpaca v1.1a outputs end with the literal <|endoftext|>
        var ex = ExampleEncoder.Encode(new ByteTokenizer(), new PromptPair("q", " a<|endoftext|>"), new EncodeOptions(64));
        Assert.Equal(['q', ' ', 'a', ByteTokenizer.Eos], ex.InputIds);
        Assert.Equal(1, ex.InputIds.Count(i => i == ByteTokenizer.Eos));
    }

    [Fact]
    public void TruncatesOnTheRight()
    {
        var ex = ExampleEncoder.Encode(new ByteTokenizer(), new PromptPair("abc", "defg"), new EncodeOptions(MaxLength: 5));
        Assert.Equal(Bytes("abcde"), ex.InputIds);
        Assert.Equal([Ignore, Ignore, Ignore, 'd', 'e'], ex.Labels);
    }

    [Fact]
    public void EncodeAllDropsExamplesWithNoTarget()
    {
        var records = new[]
        {
            new InstructionRecord(new Dictionary<string, string> { ["instruction"] = "hi", ["output"] = "yo" }, "f.jsonl", 1),
            new InstructionRecord(new Dictionary<string, string> { ["instruction"] = new string('x', 40), ["output"] = "yo" }, "f.jsonl", 2),
        };
        var dropped = new List<string>();
        var examples = ExampleEncoder.EncodeAll(new ByteTokenizer(), PromptTemplates.Ia3Seed, records, new EncodeOptions(MaxLength: 20), dropped);
        Assert.Single(examples);
        Assert.Equal(["f.jsonl:2"], dropped);
        Assert.Equal("hi\n\n정답: yo<|endoftext|>", new ByteTokenizer().Decode(examples[0].InputIds));
    }

    [Fact]
    public void KoAlpacaSampleEncodesWithMaskOnThePrompt()
    {
        var tok = new ByteTokenizer();
        var records = InstructionFile.Load(RepoPaths.Data("koalpaca/koalpaca_sample.jsonl"), PromptTemplates.KoAlpaca.Schema, BadRecordPolicy.Fail);
        var ex = ExampleEncoder.Encode(tok, PromptTemplates.KoAlpaca.Apply(records[0]), new EncodeOptions(4096));
        int promptLen = Encoding.UTF8.GetByteCount("### 질문: " + records[0]["instruction"] + "\n\n### 답변:");
        Assert.All(ex.Labels[..promptLen], l => Assert.Equal(Ignore, l));
        Assert.Equal(ex.InputIds[promptLen..], ex.Labels[promptLen..]);
        Assert.Equal(ByteTokenizer.Eos, ex.InputIds[^1]);
        Assert.Equal(1, ex.InputIds.Count(i => i == ByteTokenizer.Eos));
    }

    [Fact]
    public void RejectsNonPositiveMaxLength()
    {
        Assert.Throws<ArgumentException>(() => ExampleEncoder.Encode(new ByteTokenizer(), new PromptPair("a", "b"), new EncodeOptions(0)));
    }
}
