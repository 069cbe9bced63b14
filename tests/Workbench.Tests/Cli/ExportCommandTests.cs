using System.Text.Json.Nodes;
using Workbench.Tests.Export;
using Workbench.Tests.Support;

namespace Workbench.Tests.Cli;

/// <summary>wb export gguf's file rules: a .gguf target only, never over an existing file without --force; bad flags exit 2.</summary>
[Collection("Console")]
public class ExportCommandTests
{
    [Fact]
    public void AnExistingFileIsReplacedOnlyWithForceAndOnlyAGgufIsWritten()
    {
        using var tmp = new TempDir();
        var model = GgufLlamaCppTests.WithByteVocabulary(Support.Fixtures.PathOf("models/llama_gqa"), tmp.File("model"));
        var target = tmp.File("m.gguf");
        File.WriteAllText(target, "a user's file");

        var (code, _, err) = WbCli.Run("export", "gguf", model, "--out", target);
        Assert.Equal(2, code);
        Assert.Contains($"{target}: exists; pass --force to replace it", err);
        Assert.Equal("a user's file", File.ReadAllText(target));

        (code, var stdout, err) = WbCli.Run("export", "gguf", model, "--out", target, "--force", "--type", "q8_0", "--json");
        Assert.True(code == 0, err);
        var result = JsonNode.Parse(stdout)!;
        Assert.Equal("llama", result["architecture"]!.GetValue<string>());
        Assert.Equal(new FileInfo(target).Length, result["bytes"]!.GetValue<long>());
        Assert.Equal("GGUF", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(target)[..4]));
        Assert.Single(Directory.GetFiles(tmp.Path));                    // no temporary file left beside it

        var notGguf = tmp.File("weights.bin");
        File.WriteAllText(notGguf, "keep");
        (code, _, err) = WbCli.Run("export", "gguf", model, "--out", notGguf, "--force");
        Assert.Equal(2, code);
        Assert.Contains("the output must be a .gguf file", err);
        Assert.Equal("keep", File.ReadAllText(notGguf));
    }

    [Theory]
    [InlineData("--type", "q5_k", "--type must be one of f32, f16, q8_0, q4_0")]
    [InlineData("--adapter", "/no/such/adapter", "/no/such/adapter: no such directory")]
    public void BadFlagsExitTwoNamingTheFlag(string flag, string value, string message)
    {
        using var tmp = new TempDir();
        var model = GgufLlamaCppTests.WithByteVocabulary(Support.Fixtures.PathOf("models/llama_gqa"), tmp.File("model"));
        var (code, _, err) = WbCli.Run("export", "gguf", model, "--out", tmp.File("m.gguf"), flag, value);
        Assert.Equal(2, code);
        Assert.Contains(message, err);
        Assert.False(File.Exists(tmp.File("m.gguf")));
    }
}
