using System.Text.Json;
using Workbench.Cli;
using Workbench.Evaluation;
using Workbench.Generation;
using Workbench.Models;
using Workbench.Tests.Support;

namespace Workbench.Tests.Cli;

/// <summary>wb generate, wb ppl and wb bench generate on the tiny fixture model with a stand-in character tokenizer.</summary>
[Collection("Console")]
public sealed class GenerateCommandTests : IDisposable
{
    private readonly Func<string, Workbench.Tokenizers.ITokenizer> saved = ModelTokenizer.Load;
    private static readonly string Tiny = Fixtures.PathOf("models/llama_gqa");

    public GenerateCommandTests() => ModelTokenizer.Load = _ => new CharTokenizer();
    public void Dispose() => ModelTokenizer.Load = saved;

    private static (int Code, string Out, string Err) Wb(params string[] args) => WbCli.Run(args);

    [Fact]
    public void GreedyJsonHasTheGeneratedIdsTextAndSpeed()
    {
        var (code, stdout, stderr) = Wb("generate", Tiny, "--prompt", "abc", "--greedy", "--max-new-tokens", "5", "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var ids = doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var tokenizer = new CharTokenizer();
        var expected = Generator.Generate(CausalLM.Load(Tiny), [tokenizer.Encode("abc")], new GenerationOptions { MaxNewTokens = 5, EosIds = [2] }).Tokens[0];
        Assert.Equal(expected, ids);
        Assert.Equal(tokenizer.Decode(ids, skipSpecialTokens: true), doc.RootElement.GetProperty("text").GetString());
        Assert.True(doc.RootElement.GetProperty("tokens_per_second").GetDouble() > 0);
    }

    [Fact]
    public void TextModeStreamsTheSameText()
    {
        var (_, json, _) = Wb("generate", Tiny, "--prompt", "xyz", "--max-new-tokens", "6", "--seed", "3", "--temperature", "0.8", "--json");
        var (code, text, _) = Wb("generate", Tiny, "--prompt", "xyz", "--max-new-tokens", "6", "--seed", "3", "--temperature", "0.8");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(doc.RootElement.GetProperty("text").GetString() + Environment.NewLine, text);
    }

    [Fact]
    public void BadInputExitsWithTwo()
    {
        var (code, _, stderr) = Wb("generate", "/no/such/model", "--prompt", "a");
        Assert.Equal(2, code);
        Assert.Contains("/no/such/model: no such model directory", stderr);
        (code, _, stderr) = Wb("generate", Tiny, "--prompt", "a", "--top-p", "0");
        Assert.Equal(2, code);
        Assert.Contains("top-p", stderr);
        (code, _, stderr) = Wb("ppl", Tiny, "--file", "/no/such/file.txt");
        Assert.Equal(2, code);
        Assert.Contains("/no/such/file.txt: no such file", stderr);
        (code, _, _) = Wb("bench", "generate", "/no/such/model");
        Assert.Equal(2, code);

        ModelTokenizer.Load = saved;                                      // the build's own loader
        (code, _, stderr) = Wb("generate", Tiny, "--prompt", "a");
        Assert.True(code is 0 or 2);
        if (code == 2) Assert.Contains("tokenizer", stderr);
    }

    [Fact]
    public void PplJsonMatchesTheLibrary()
    {
        using var dir = new TempDir();
        File.WriteAllLines(dir.File("d.jsonl"), ["""{"body": "hello there"}""", """{"body": "general kenobi"}"""]);
        var (code, stdout, stderr) = Wb("ppl", Tiny, "--file", dir.File("d.jsonl"), "--field", "body", "--max-length", "8", "--stride", "4", "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var expected = Perplexity.OfTexts(CausalLM.Load(Tiny), new CharTokenizer(), ["hello there", "general kenobi"], 8, 4);
        Assert.Equal(expected.Nll, doc.RootElement.GetProperty("nll").GetDouble(), 1e-12);
        Assert.Equal(expected.Ppl, doc.RootElement.GetProperty("ppl").GetDouble(), 1e-9);
        Assert.Equal(25, doc.RootElement.GetProperty("tokens").GetInt64());
        (code, _, stderr) = Wb("ppl", Tiny, "--file", dir.File("d.jsonl"), "--json");
        Assert.Equal(2, code);
        Assert.Contains("d.jsonl:1", stderr);
    }

    [Fact]
    public void BenchGenerateReportsLoadTimeAndSpeed()
    {
        var (code, stdout, stderr) = Wb("bench", "generate", RepoPaths.Data("models/stories260K"), "--max-new-tokens", "16", "--repeat", "1", "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.True(doc.RootElement.GetProperty("load_seconds").GetDouble() > 0);
        Assert.True(doc.RootElement.GetProperty("tokens_per_second").GetDouble() > 0);
        Assert.Equal(16, doc.RootElement.GetProperty("new_tokens").GetInt32());
    }
}
