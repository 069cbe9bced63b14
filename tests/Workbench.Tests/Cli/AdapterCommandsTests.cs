using System.Text.Json;
using Workbench.Cli;
using Workbench.Tests.Support;

namespace Workbench.Tests.Cli;

[Collection("Console")]
public class AdapterCommandsTests
{
    private static (int Code, string Out, string Err) Wb(params string[] args) => WbCli.Run(args);

    [Theory]
    [InlineData("lora", 3_670_016)]
    [InlineData("ia3", 802_816)]
    public void ParamsReportsPeftsCountsForPolyglot(string method, long trainable)
    {
        var (code, stdout, _) = Wb("params", RepoPaths.Data("configs/polyglot-ko-5.8b"), "--method", method, "--json");
        Assert.Equal(0, code);
        var r = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(trainable, r.GetProperty("trainable").GetInt64());
        Assert.Equal(5_885_059_072 + trainable, r.GetProperty("total").GetInt64());
        Assert.Equal(100.0 * trainable / (5_885_059_072 + trainable), r.GetProperty("percent").GetDouble(), 12);
    }

    [Fact]
    public void ParamsTakesRankAndTargetsAndPrintsPeftsLine()
    {
        var (code, stdout, _) = Wb("params", RepoPaths.Data("configs/polyglot-ko-5.8b/config.json"), "--r", "16", "--target", "query_key_value", "dense");
        Assert.Equal(0, code);
        Assert.Equal(stdout, Wb("params", RepoPaths.Data("configs/polyglot-ko-5.8b"), "--r", "16", "--target", "query_key_value,dense").Out);   // commas too
        long trainable = 28L * 16 * (4096 + 12288 + 4096 + 4096);
        Assert.Equal($"trainable params: {trainable:N0} || all params: {5_885_059_072 + trainable:N0} || trainable%: {100.0 * trainable / (5_885_059_072 + trainable):F4}", stdout.Trim());
        var (bad, _, err) = Wb("params", RepoPaths.Data("configs/polyglot-ko-5.8b"), "--target", "nothing_here");
        Assert.Equal(2, bad);
        Assert.Contains("match no linear layer", err);
        Assert.Equal(2, Wb("params", RepoPaths.Data("configs/polyglot-ko-5.8b"), "--method", "prefix").Code);
    }

    [Fact]
    public void MergeWritesAStandaloneModelAndRefusesANonEmptyOut()
    {
        using var dir = new TempDir();
        var outDir = dir.File("out");
        var (code, stdout, err) = Wb("merge", Fixtures.PathOf("adapters/base"), Fixtures.PathOf("adapters/ia3"), "--out", outDir, "--json");
        Assert.True(code == 0, err);
        var r = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("IA3", r.GetProperty("peft_type").GetString());
        Assert.Equal(6, r.GetProperty("merged_layers").GetInt32());
        Assert.Equal(["config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"],
            r.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
        var (again, _, againErr) = Wb("merge", Fixtures.PathOf("adapters/base"), Fixtures.PathOf("adapters/lora"), "--out", outDir);
        Assert.Equal(2, again);
        Assert.Contains("--force", againErr);
        Assert.Equal(0, Wb("merge", Fixtures.PathOf("adapters/base"), Fixtures.PathOf("adapters/lora"), "--out", outDir, "--force").Code);
        var (missing, _, missingErr) = Wb("merge", Fixtures.PathOf("adapters/base"), dir.File("nope"), "--out", dir.File("x"));
        Assert.Equal(2, missing);
        Assert.Contains("no such directory", missingErr);
        Assert.False(Directory.Exists(dir.File("x")));
    }
}
