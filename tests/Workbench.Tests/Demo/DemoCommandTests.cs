using System.Text.Json.Nodes;
using Workbench.Cli;
using Workbench.Cli.Demo;
using Workbench.Engine.Nn;
using Workbench.Formats;
using Workbench.Models;
using Workbench.Tests.Support;
using Workbench.Training.Pretraining;

namespace Workbench.Tests.Demo;

[Collection("Console")]
public class DemoCommandTests
{
    private static (int Code, string Out, string Err) Wb(params string[] args) => WbCli.Run(args);

    static readonly string TrainedTokenizer = Path.Combine(RepoPaths.Root, "tests/fixtures/tokenizers/trained/nsmc2000");

    /// <summary>A GPT-NeoX folder with random weights (f16) and the committed NSMC-trained tokenizer.</summary>
    static void TinyNeoX(string dir)
    {
        Directory.CreateDirectory(dir);
        var shape = PretrainConfig.FromValues(new Dictionary<string, IReadOnlyList<string>>
        {
            ["tokenizer"] = [TrainedTokenizer], ["hidden_size"] = ["32"], ["num_layers"] = ["2"], ["num_heads"] = ["2"],
            ["intermediate_size"] = ["64"], ["max_position_embeddings"] = ["512"], ["texts"] = ["unused.txt"], ["output_dir"] = [dir],
        }, "test");
        var json = shape.ConfigJson(2000, 0);
        File.WriteAllText(Path.Combine(dir, "config.json"), json.ToJsonString());
        var model = CausalLM.Create(ModelConfig.Parse(json.ToJsonString(), "test"), WeightSources.Random(7, 0.02f, Workbench.Engine.DType.F16));
        SafeTensorsWriter.Write(Path.Combine(dir, "model.safetensors"), model.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor));
        foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json" }) File.Copy(Path.Combine(TrainedTokenizer, f), Path.Combine(dir, f));
    }

    [Fact]
    public void RunsTheWholeJobOnATinyModelAndWritesTheReport()
    {
        using var dir = new TempDir();
        TinyNeoX(dir.File("base"));
        var (code, stdout, stderr) = Wb("demo", "--model", dir.File("base"), "--out", dir.File("out"), "--samples", "6", "--shots", "2",
            "--steps", "3", "--sft-data", dir.File("nsmc_sft.jsonl"));
        Assert.True(code == 0, stderr);

        var sft = File.ReadAllLines(dir.File("nsmc_sft.jsonl"));
        Assert.Equal(1995, sft.Length);   // the 2,000 reviews less the 5 with an empty document
        var first = JsonNode.Parse(sft[0])!;
        Assert.StartsWith("문장: ", first["instruction"]!.GetValue<string>());
        Assert.EndsWith("\n감정:", first["instruction"]!.GetValue<string>());
        Assert.Contains(first["output"]!.GetValue<string>(), new[] { "긍정", "부정" });
        Assert.StartsWith("다음 문장은 긍정일까요 부정일까요?", JsonNode.Parse(sft[1])!["instruction"]!.GetValue<string>());

        var results = JsonNode.Parse(File.ReadAllText(dir.File("out/results.json")))!;
        var methods = results["methods"]!.AsArray().Select(m => m!["method"]!.GetValue<string>()).ToList();
        Assert.Equal(["ia3", "lora", "qlora"], methods);
        foreach (var m in results["methods"]!.AsArray())
        {
            Assert.True(m!["trainable_parameters"]!.GetValue<long>() > 0);
            Assert.True(File.Exists(Path.Combine(m["adapter_dir"]!.GetValue<string>(), "adapter_model.safetensors")));
            Assert.Equal(3, File.ReadAllLines(Path.Combine(m["adapter_dir"]!.GetValue<string>(), "train_log.jsonl")).Length);
        }
        var models = results["accuracy"]!.AsArray().Select(a => a!["model"]!.GetValue<string>()).ToList();
        Assert.Equal(["base", "ia3", "lora", "qlora", $"merged ({results["best"]!.GetValue<string>()})"], models);
        Assert.All(results["accuracy"]!.AsArray(), a => Assert.InRange(a!["prompt1"]!.GetValue<double>(), 0, 1));
        // LoRA (r 8 on query_key_value) trains more parameters than IA3's scaling vectors
        var counts = results["methods"]!.AsArray().ToDictionary(m => m!["method"]!.GetValue<string>(), m => m!["trainable_parameters"]!.GetValue<long>());
        Assert.True(counts["lora"] > counts["ia3"]);
        Assert.Equal(counts["lora"], counts["qlora"]);
        // the 4-bit base counts its weights as PEFT does (logical elements), so QLoRA's total is LoRA's
        var totals = results["methods"]!.AsArray().ToDictionary(m => m!["method"]!.GetValue<string>(), m => m!["total_parameters"]!.GetValue<long>());
        Assert.Equal(totals["lora"], totals["qlora"]);

        var merged = CausalLM.Load(dir.File("out/merged"));
        Assert.Equal("gpt_neox", merged.Config.ModelType);

        var html = File.ReadAllText(dir.File("out/report.html"));
        foreach (var header in new[] { "trainable params", "training time (s)", "inference time (s)", "prompt 1", "prompt 2", "Training loss", "qlora", "NSMC few-shot accuracy" })
            Assert.Contains(header, html);
        Assert.Contains("| method | trainable params |", stdout);
        Assert.Contains("| model | prompt 1 | prompt 2 |", stdout);
        Assert.Contains("demo: training lora", stderr);
    }

    static (int Code, string Out, string Err) ShortDemoOnTheShippedSample(string model, string outDir, int samples, int steps) =>
        Wb("demo", "--model", RepoPaths.Data(model), "--sft-data", RepoPaths.Data("nsmc/nsmc_sft.jsonl"), "--out", outDir,
            "--samples", samples.ToString(), "--shots", "2", "--steps", steps.ToString(), "--json");

    [Fact]
    public void TheShippedKoTinyAndSftSampleRunTheDemo()
    {
        // the README's main job on what a fresh clone has (data/models/ko-tiny, data/nsmc/nsmc_sft.jsonl), cut short
        using var dir = new TempDir();
        var (code, stdout, stderr) = ShortDemoOnTheShippedSample("models/ko-tiny", dir.File("out"), samples: 4, steps: 2);
        Assert.True(code == 0, stderr);
        Assert.Equal(8000, File.ReadLines(RepoPaths.Data("nsmc/nsmc_sft.jsonl")).Count());
        Assert.Equal("gpt_neox", CausalLM.Load(RepoPaths.Data("models/ko-tiny")).Config.ModelType);
        // --json: stdout is results.json's object, and nothing else
        var printed = JsonNode.Parse(stdout)!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllText(dir.File("out/results.json"))), printed));
        Assert.StartsWith("merged (", printed["accuracy"]![4]!["model"]!.GetValue<string>());
        Assert.True(File.Exists(dir.File("out/report.html")));
    }

    [Fact]
    public void ALlamaBaseGetsItsOwnLayerNames()
    {
        // stories260K (Llama, tied head), all 7 linears: IA3 5 × (q 64 + k 32 + v 32 + o 64 + gate 172 + up 172 + down's input 172);
        // LoRA r 8 5 × 8 · ((64+64) + 2·(64+32) + (64+64) + 2·(64+172) + (172+64))
        using var dir = new TempDir();
        var (code, stdout, stderr) = ShortDemoOnTheShippedSample("models/stories260K", dir.File("out"), samples: 2, steps: 1);
        Assert.True(code == 0, stderr);
        var counts = JsonNode.Parse(stdout)!["methods"]!.AsArray().ToDictionary(m => m!["method"]!.GetValue<string>(), m => m!["trainable_parameters"]!.GetValue<long>());
        Assert.Equal(3_540, counts["ia3"]);
        Assert.Equal(46_240, counts["lora"]);
        Assert.DoesNotContain("lm_head", DemoPipeline.TargetModules(CausalLM.Load(RepoPaths.Data("models/stories260K")).Config));   // tied
    }

    [Fact]
    public void AMissingModelSaysHowToMakeIt()
    {
        using var dir = new TempDir();
        var (code, _, stderr) = Wb("demo", "--model", dir.File("ko-tiny"), "--out", dir.File("out"));
        Assert.Equal(2, code);
        Assert.Contains("wb pretrain --config data/examples/ko-tiny.yaml", stderr);
        Assert.False(Directory.Exists(dir.File("out")));
    }
}
