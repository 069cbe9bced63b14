using Workbench.Data;
using Workbench.Tests.Support;

namespace Workbench.Tests.Data;

public class InstructionFileTests
{
    static readonly RecordSchema Schema = new(["instruction", "output"], ["input"]);

    [Fact]
    public void LoadsKoAlpacaSampleAsJsonl()
    {
        var records = InstructionFile.Load(RepoPaths.Data("koalpaca/koalpaca_sample.jsonl"), PromptTemplates.KoAlpaca.Schema, BadRecordPolicy.Fail);
        Assert.Equal(300, records.Count);
        Assert.Equal("양파는 식물의 어떤 부위인가요? 그리고 고구마는 뿌리인가요?", records[0]["instruction"]);
        Assert.All(records, r => Assert.EndsWith("<|endoftext|>", r["output"]));
        Assert.Equal(300, records[^1].Line);
    }

    [Fact]
    public void LoadsAlpacaSampleAsJsonArrayWithLines()
    {
        var records = InstructionFile.Load(RepoPaths.Data("alpaca/alpaca_sample.json"), PromptTemplates.Alpaca.Schema, BadRecordPolicy.Fail);
        Assert.Equal(200, records.Count);
        Assert.Equal("Are the two sentences below grammatically correct? Output yes or no.", records[0]["instruction"]);
        Assert.Equal("No", records[0]["output"]);
        Assert.Equal(124, records.Count(r => r["input"] == ""));
        Assert.Equal(2, records[0].Line);       // "[" on line 1, the first object opens on line 2 (indent=1)
        Assert.True(records[1].Line > records[0].Line);
    }

    const string Jsonl =
        "{\"instruction\": \"a\", \"output\": \"A\"}\n" +        // 1 ok
        "{\"instruction\": \"b\", \"output\": \n" +               // 2 malformed
        "{\"instruction\": \"c\"}\n" +                            // 3 missing output
        "\n" +                                                    // 4 blank: ignored
        "{\"instruction\": 5, \"output\": \"E\"}\n" +             // 5 wrong type
        "[\"not\", \"an object\"]\n" +                            // 6 not an object
        "{\"instruction\": \"g\", \"output\": \"G\", \"input\": null, \"url\": 3}\n"; // 7 ok (null optional, extra ignored)

    [Fact]
    public void JsonlSkipReportsEachBadLineWithItsNumber()
    {
        using var f = new TempFile(Jsonl);
        var warnings = new List<DataIssue>();
        var records = InstructionFile.Load(f.Path, Schema, BadRecordPolicy.Skip, warnings);
        Assert.Equal(["a", "g"], records.Select(r => r["instruction"]));
        Assert.Equal([1, 7], records.Select(r => r.Line));
        Assert.False(records[1].Has("input"));
        Assert.Equal([2, 3, 5, 6], warnings.Select(w => w.Line));
        Assert.All(warnings, w => Assert.Equal(f.Path, w.File));
        Assert.StartsWith("malformed JSON", warnings[0].Message);
        Assert.Equal("missing required field 'output'", warnings[1].Message);
        Assert.Equal("field 'instruction' must be a string, found Number", warnings[2].Message);
        Assert.Equal("expected a JSON object, found Array", warnings[3].Message);
        Assert.Equal($"{f.Path}:3: missing required field 'output'", warnings[1].ToString());
    }

    [Fact]
    public void JsonlFailThrowsAtTheFirstBadLineAndStreams()
    {
        using var f = new TempFile(Jsonl);
        var e = Assert.Throws<DataFormatException>(() => InstructionFile.Load(f.Path, Schema, BadRecordPolicy.Fail));
        Assert.Equal(2, e.Issue.Line);
        Assert.StartsWith($"{f.Path}:2: malformed JSON", e.Message);
        // streaming: the good first record arrives before the bad second line is read
        Assert.Equal("a", InstructionFile.Read(f.Path, Schema, BadRecordPolicy.Fail).First()["instruction"]);
    }

    [Fact]
    public void JsonArrayBadElementsFollowPolicyWithLines()
    {
        string json = "[\n  {\"instruction\": \"a\", \"output\": \"A\"},\n  {\"instruction\": \"b\"},\n  {\"instruction\": \"c\",\n   \"output\": [1]},\n  {\"instruction\": \"d\", \"output\": \"D\"}\n]\n";
        using var f = new TempFile(json, ".json");
        var warnings = new List<DataIssue>();
        var records = InstructionFile.Load(f.Path, Schema, BadRecordPolicy.Skip, warnings);
        Assert.Equal(["a", "d"], records.Select(r => r["instruction"]));
        Assert.Equal([2, 6], records.Select(r => r.Line));
        Assert.Equal([3, 4], warnings.Select(w => w.Line));
        Assert.Equal("field 'output' must be a string, found Array", warnings[1].Message);
        var e = Assert.Throws<DataFormatException>(() => InstructionFile.Load(f.Path, Schema, BadRecordPolicy.Fail));
        Assert.Equal(3, e.Issue.Line);
    }

    [Fact]
    public void MalformedJsonArrayIsFatalEvenWhenSkipping()
    {
        using var f = new TempFile("[\n {\"instruction\": \"a\", \"output\": \"A\"},\n {\"instruction\": \"b\" \"output\": \"B\"}\n]", ".json");
        var e = Assert.Throws<DataFormatException>(() => InstructionFile.Load(f.Path, Schema, BadRecordPolicy.Skip));
        Assert.Equal(3, e.Issue.Line);
        Assert.Contains("malformed JSON", e.Message);
        using var open = new TempFile("[\n {\"instruction\": \"a\", \"output\": \"A\"},\n", ".json");
        Assert.Contains("malformed JSON", Assert.Throws<DataFormatException>(() => InstructionFile.Load(open.Path, Schema, BadRecordPolicy.Skip)).Message);
    }

    [Fact]
    public void FormatIsDecidedByContentNotExtension()
    {
        using var f = new TempFile("{\"instruction\": \"a\", \"output\": \"A\"}\n{\"instruction\": \"b\", \"output\": \"B\"}\n", ".json");
        Assert.Equal(2, InstructionFile.Load(f.Path, Schema, BadRecordPolicy.Fail).Count);
    }

    [Fact]
    public void MissingFileNamesThePath()
    {
        var e = Assert.Throws<FileNotFoundException>(() => InstructionFile.Load("/nonexistent/x.jsonl", Schema, BadRecordPolicy.Fail));
        Assert.Contains("/nonexistent/x.jsonl", e.Message);
    }
}
