using System.Text.Json.Nodes;
using Workbench.Tests.Support;

namespace Workbench.Tests.Cli;

[Collection("Console")]
public class PretrainCommandTests
{
    [Fact]
    public void JsonPrintsTheResultAndProgressGoesToStderr()
    {
        using var dir = new TempDir();
        var tokenizer = Path.Combine(RepoPaths.Root, "tests/fixtures/tokenizers/trained/nsmc2000");
        File.WriteAllText(dir.File("tiny.yaml"), $"""
            tokenizer: {tokenizer}
            hidden_size: 32
            num_layers: 1
            num_heads: 2
            intermediate_size: 64
            max_position_embeddings: 32
            texts:
              - {RepoPaths.Data("nsmc/ratings_train_2000.txt")}@document
            heldout: {RepoPaths.Data("nsmc/ratings_test_600.txt")}@document
            max_length: 32
            micro_batch_size: 4
            max_steps: 3
            output_dir: {dir.File("m")}
            """);
        var (code, stdout, stderr) = WbCli.Run("pretrain", "--config", dir.File("tiny.yaml"), "--max-steps", "2", "--json");
        Assert.True(code == 0, stderr);
        var r = JsonNode.Parse(stdout)!;                      // stdout is one JSON object
        Assert.Equal(dir.File("m"), r["model_dir"]!.GetValue<string>());
        Assert.Equal(2, r["training"]!["steps"]!.GetValue<int>());   // --max-steps overrides the file
        double nll = r["heldout_nll"]!.GetValue<double>();
        Assert.Equal(Math.Exp(nll), r["heldout_ppl"]!.GetValue<double>(), 6);
        Assert.InRange(r["chars_per_token"]!.GetValue<double>(), 1.0, 4.0);
        Assert.Contains("step", stderr);
        Assert.True(File.Exists(dir.File("m/model.safetensors")));
    }

    [Fact]
    public void ABadConfigExitsWith2AndNamesTheFile()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("bad.yaml"), "hidden_size: 64\n");
        var (code, _, stderr) = WbCli.Run("pretrain", "--config", dir.File("bad.yaml"), "--json");
        Assert.Equal(2, code);
        Assert.Contains(dir.File("bad.yaml") + ": texts: is required", stderr);
    }
}
