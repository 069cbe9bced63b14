using Workbench.Data;

namespace Workbench.Tests.Data;

public class PromptTemplateTests
{
    static InstructionRecord Record(params (string Key, string Value)[] fields)
        => new(fields.ToDictionary(f => f.Key, f => f.Value), "test.jsonl", 7);

    [Fact]
    public void AlpacaWithInputIsStanfordsPromptInput()
    {
        var p = PromptTemplates.Alpaca.Apply(Record(("instruction", "Add."), ("input", "2, 3"), ("output", "5")));
        Assert.Equal("Below is an instruction that describes a task, paired with an input that provides further context. " +
                     "Write a response that appropriately completes the request.\n\n### Instruction:\nAdd.\n\n### Input:\n2, 3\n\n### Response:\n", p.Prompt);
        Assert.Equal("5", p.Completion);
    }

    [Fact]
    public void AlpacaWithoutInputIsStanfordsPromptNoInput()
    {
        const string expected = "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n" +
                                "### Instruction:\nSay hi.\n\n### Response:\n";
        Assert.Equal(expected, PromptTemplates.Alpaca.Apply(Record(("instruction", "Say hi."), ("input", ""), ("output", "hi"))).Prompt);
        Assert.Equal(expected, PromptTemplates.Alpaca.Apply(Record(("instruction", "Say hi."), ("output", "hi"))).Prompt);
        Assert.Equal(["instruction", "output"], PromptTemplates.Alpaca.Schema.Required);
        Assert.Equal(["input"], PromptTemplates.Alpaca.Schema.Optional);
    }

    [Fact]
    public void KoAlpacaSplitsBeforeTheAnswersSpace()
    {
        var p = PromptTemplates.KoAlpaca.Apply(Record(("instruction", "양파는?"), ("output", "줄기입니다.<|endoftext|>")));
        Assert.Equal("### 질문: 양파는?\n\n### 답변:", p.Prompt);
        Assert.Equal(" 줄기입니다.<|endoftext|>", p.Completion);
        Assert.Equal("### 질문: 양파는?\n\n### 답변: 줄기입니다.<|endoftext|>", p.Text);
    }

    [Fact]
    public void Ia3SeedFormat()
    {
        var p = PromptTemplates.Ia3Seed.Apply(Record(("instruction", "문장: 재밌다\n감정은?"), ("output", "긍정")));
        Assert.Equal("문장: 재밌다\n감정은?\n\n정답:", p.Prompt);
        Assert.Equal(" 긍정", p.Completion);
    }

    [Fact]
    public void CustomFormatWithSplitMarkerAndEscapedBraces()
    {
        var t = PromptTemplates.Get("Q: {question} {{json}}\nA:{|} {answer}");
        Assert.Equal("custom", t.Name);
        Assert.Equal(["question", "answer"], t.Schema.Required);
        var p = t.Apply(Record(("question", "1+1"), ("answer", "2")));
        Assert.Equal("Q: 1+1 {json}\nA:", p.Prompt);
        Assert.Equal(" 2", p.Completion);
    }

    [Fact]
    public void NamedTemplatesResolve()
    {
        Assert.Same(PromptTemplates.Alpaca, PromptTemplates.Get("alpaca"));
        Assert.Same(PromptTemplates.KoAlpaca, PromptTemplates.Get("koalpaca"));
        Assert.Same(PromptTemplates.Ia3Seed, PromptTemplates.Get("ia3-seed"));
    }

    [Fact]
    public void BadTemplatesAreRejectedClearly()
    {
        Assert.Contains("unknown prompt template 'alpca'", Assert.Throws<ArgumentException>(() => PromptTemplates.Get("alpca")).Message);
        Assert.Contains("split marker", Assert.Throws<FormatException>(() => new PromptTemplate("x", "{instruction} {output}")).Message);
        Assert.Contains("more than one split marker", Assert.Throws<FormatException>(() => TemplateFormat.Parse("{a}{|}{|}{b}")).Message);
        Assert.Contains("unclosed", Assert.Throws<FormatException>(() => TemplateFormat.Parse("{a")).Message);
        Assert.Contains("unmatched", Assert.Throws<FormatException>(() => TemplateFormat.Parse("a}")).Message);
    }

    [Fact]
    public void MissingFieldNamesTheRecordLocation()
    {
        var e = Assert.Throws<DataFormatException>(() => PromptTemplates.KoAlpaca.Apply(Record(("instruction", "x"))));
        Assert.Equal("test.jsonl:7: template 'koalpaca' needs field(s) 'output'", e.Message);
    }
}
