using System.Text.Json;
using Workbench.Cli;
using Workbench.Tests.Support;
using Workbench.Tokenizers;

namespace Workbench.Tests.Tokenizers;

/// <summary><c>wb tokenizer train</c>: the JSON summary, the written folder, and exit code 2 on bad input.</summary>
[Collection("Console")]
public class TokenizerTrainCommandTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var (savedOut, savedErr) = (Console.Out, Console.Error);
        Console.SetOut(output);
        Console.SetError(error);
        try { return (Program.Build().Parse(args).Invoke(), output.ToString(), error.ToString()); }
        finally { Console.SetOut(savedOut); Console.SetError(savedErr); }
    }

    [Fact]
    public void TrainsOnJsonFieldsAndReportsJson()
    {
        using var dir = new TempDir();
        string outDir = dir.File("koalpaca");
        var (code, stdout, stderr) = Run("tokenizer", "train", "--files", RepoPaths.Data("koalpaca/koalpaca_sample.jsonl"),
            "--field", "instruction,output", "--vocab-size", "600", "--min-frequency", "2",
            "--special-tokens", "<|endoftext|>", "<|padding|>", "<|sep|>", "--out", outDir, "--json");
        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(600, root.GetProperty("vocab_size").GetInt32());
        Assert.Equal(600 - 3 - 256, root.GetProperty("merges").GetInt32());   // no merge made an existing string here
        Assert.True(root.GetProperty("seconds").GetDouble() >= 0);
        Assert.InRange(root.GetProperty("chars_per_token").GetDouble(), 1.0, 4.0);

        var tokenizer = Tokenizer.Load(outDir);
        Assert.Equal(2, tokenizer.TokenToId("<|sep|>"));
        Assert.Equal([2], tokenizer.Encode("<|sep|>"));
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "tokenizer_config.json"))).RootElement;
        Assert.Equal("<|endoftext|>", config.GetProperty("eos_token").GetString());
        Assert.Equal("<|padding|>", config.GetProperty("pad_token").GetString());
        Assert.Equal(2048, config.GetProperty("model_max_length").GetInt32());
    }

    [Fact]
    public void BadInputExitsWithTwo()
    {
        using var dir = new TempDir();
        var small = Run("tokenizer", "train", "--files", RepoPaths.Data("nsmc/ratings_test_600.txt"), "--vocab-size", "200", "--out", dir.File("x"));
        Assert.Equal(2, small.Code);
        Assert.Contains("--vocab-size 200 is below 258", small.Err);
        var column = Run("tokenizer", "train", "--files", RepoPaths.Data("nsmc/ratings_test_600.txt"), "--column", "text", "--vocab-size", "300", "--out", dir.File("x"));
        Assert.Equal(2, column.Code);
        Assert.Contains("no column 'text'", column.Err);
        Assert.False(Directory.Exists(dir.File("x")));
    }
}
