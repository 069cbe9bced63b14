using System.Text.Json.Nodes;
using Workbench.Models;
using Workbench.Tests.Support;
using Workbench.Tokenizers;
using Workbench.Training;
using Workbench.Training.Pretraining;

namespace Workbench.Tests.Training;

public class PretrainTests
{
    static readonly string TrainedTokenizer = System.IO.Path.Combine(RepoPaths.Root, "tests/fixtures/tokenizers/trained/nsmc2000");

    static PretrainConfig Tiny(string outDir, int steps, string tokenizer) => PretrainConfig.FromValues(new Dictionary<string, IReadOnlyList<string>>
    {
        ["tokenizer"] = [tokenizer], ["vocab_size"] = ["400"], ["hidden_size"] = ["32"], ["num_layers"] = ["2"], ["num_heads"] = ["2"],
        ["intermediate_size"] = ["64"], ["max_position_embeddings"] = ["64"], ["rotary_pct"] = ["0.5"],
        ["texts"] = [RepoPaths.Data("nsmc/ratings_train_2000.txt") + "@document"],
        ["heldout"] = [RepoPaths.Data("nsmc/ratings_test_600.txt") + "@document"],
        ["max_length"] = ["32"], ["micro_batch_size"] = ["8"], ["learning_rate"] = ["3e-3"], ["warmup_steps"] = ["3"],
        ["lr_scheduler_type"] = ["constant"], ["max_steps"] = [steps.ToString()], ["output_dir"] = [outDir],
    }, "test");

    [Fact]
    public void LossDecreasesAndTheDirectoryLoadsAsAModel()
    {
        using var dir = new TempDir();
        var outDir = dir.File("ko-micro");
        var r = Pretrainer.Run(Tiny(outDir, 40, TrainedTokenizer));

        var losses = File.ReadAllLines(System.IO.Path.Combine(outDir, "train_log.jsonl"))
            .Select(l => JsonNode.Parse(l)!["loss"]!.GetValue<double>()).ToList();
        Assert.Equal(40, losses.Count);
        Assert.True(losses[0] > Math.Log(2000) - 0.5, $"first loss {losses[0]} should be near ln(vocab) for a fresh init");
        Assert.True(losses.TakeLast(5).Average() < losses.Take(5).Average() - 0.5, $"loss {losses.Take(5).Average():F3} → {losses.TakeLast(5).Average():F3}");

        var model = CausalLM.Load(outDir);
        Assert.Equal("gpt_neox", model.Config.ModelType);
        Assert.Equal(32, model.Config.HiddenSize);
        Assert.Equal(8, model.Config.RotaryDim);
        Assert.True(model.Config.UseParallelResidual);
        Assert.Equal(2000, model.Config.VocabSize);
        Assert.Equal("float16", JsonNode.Parse(File.ReadAllText(System.IO.Path.Combine(outDir, "config.json")))!["torch_dtype"]!.GetValue<string>());
        var tokenizer = Tokenizer.Load(outDir);
        Assert.Equal(Tokenizer.Load(TrainedTokenizer).Encode("이 영화 재밌다"), tokenizer.Encode("이 영화 재밌다"));

        Assert.NotNull(r.Heldout);
        Assert.True(r.Heldout!.Ppl < 2000 && r.Heldout.Ppl > 1, $"held-out perplexity {r.Heldout.Ppl}");
        var card = File.ReadAllText(System.IO.Path.Combine(outDir, "README.md"));
        Assert.Contains("Held-out perplexity", card);
        Assert.Contains("characters per token", card);
        Assert.Contains("40 of 40 steps", card);
    }

    [Fact]
    public void TrainsTheTokenizerWhenTheFolderHasNone()
    {
        using var dir = new TempDir();
        var r = Pretrainer.Run(Tiny(dir.File("m"), 2, dir.File("tok")));
        Assert.True(File.Exists(dir.File("tok/tokenizer.json")));
        Assert.Equal(400, CausalLM.Load(r.ModelDir).Config.VocabSize);
    }

    [Fact]
    public void RejectsAShapeThatDoesNotDivide()
    {
        var e = Assert.Throws<TrainingConfigException>(() => PretrainConfig.FromValues(new Dictionary<string, IReadOnlyList<string>>
        {
            ["tokenizer"] = ["t"], ["hidden_size"] = ["30"], ["num_heads"] = ["4"], ["texts"] = ["a.txt"], ["output_dir"] = ["o"],
        }, "cfg.yaml"));
        Assert.Contains("hidden_size: 30 is not divisible", e.Message);
    }
}
