using System.Text.Json.Nodes;
using Workbench.Adapters;
using Workbench.Export.Gguf;
using Workbench.Generation;
using Workbench.Models;
using Workbench.Tests.Support;
using Workbench.Tokenizers;
using Xunit.Abstractions;

namespace Workbench.Tests.Export;

/// <summary>
/// GGUF exports run in a real llama.cpp (LLamaSharp 0.30.0, CPU): the shipped stories260K (Llama, SentencePiece) and
/// ko-tiny (GPT-NeoX, byte-level BPE), the tiny fixtures of every architecture (given a 64-token byte-level vocabulary,
/// as they ship none) and a merged LoRA. For each: llama.cpp's greedy ids equal ours, its logits along the sequence
/// are within the type's tolerance of ours, and its tokenizer gives our ids.
/// Tolerances (max |Δlogit| over every position and vocabulary entry; logits of these models span about ±20; measured
/// in brackets): f32 1e-4 for Llama (only summation order differs: 1.6e-5) and 5e-3 for the GELU models (ggml's GELU
/// is the tanh approximation read from an f16 table: ko-tiny 2.9e-3, NeoX 1.5e-3, Gemma 6.7e-4); f16 0.05
/// (stories260K 0.014, ko-tiny 0.004); q8_0 0.6 (stories260K 0.32, ko-tiny 0.07). q4_0 is checked for the same first
/// greedy ids and a mean |Δ| under 1 (0.76): 4 bits on a 64-wide model move logits by whole units.
/// </summary>
[Collection("Console")]
public class GgufLlamaCppTests(ITestOutputHelper output)
{
    private static readonly string Stories = RepoPaths.Data("models/stories260K");
    private static readonly string KoTiny = RepoPaths.Data("models/ko-tiny");

    public static TheoryData<string, string, string, float> Shipped => new()
    {
        { "stories260K", "f32", "Once upon a time", 1e-4f },
        { "stories260K", "f16", "Once upon a time", 0.05f },
        { "stories260K", "q8_0", "Once upon a time", 0.6f },
        { "ko-tiny", "f32", "영화가 정말 재미있었다", 5e-3f },
        { "ko-tiny", "f16", "영화가 정말 재미있었다", 0.05f },
        { "ko-tiny", "q8_0", "영화가 정말 재미있었다", 0.6f },
    };

    [Theory]
    [MemberData(nameof(Shipped))]
    public void ShippedModelsGenerateOurGreedyIdsInLlamaCpp(string model, string type, string prompt, float tolerance)
    {
        var dir = RepoPaths.Data($"models/{model}");
        using var tmp = new TempDir();
        var gguf = Export(dir, tmp.File($"{model}.gguf"), type);
        var ours = CausalLM.Load(dir);
        var ids = Tokenizer.Load(dir).Encode(prompt);
        using var llama = new LlamaCpp(gguf);
        Assert.Equal(ids, llama.Tokenize(prompt, addBos: model == "stories260K"));

        var greedy = Generator.Generate(ours, [ids], new GenerationOptions { MaxNewTokens = 24, Greedy = true }).Tokens[0];
        Assert.Equal(greedy, llama.Greedy(ids, greedy.Length));
        var worst = WorstLogitDifference(ours, llama, [.. ids, .. greedy]);
        output.WriteLine($"{model} {type}: max |Δlogit| {worst:G3}");
        Assert.True(worst <= tolerance, $"{model} {type}: max |Δlogit| {worst} > {tolerance}");
    }

    [Fact]
    public void Q4_0LoadsAndAgreesWhileTheLogitsAreClose()
    {
        using var tmp = new TempDir();
        var gguf = Export(Stories, tmp.File("s.gguf"), "q4_0");
        var ours = CausalLM.Load(Stories);
        int[] ids = [1, 403, 407, 261, 378];
        using var llama = new LlamaCpp(gguf);
        var greedy = Generator.Generate(ours, [ids], new GenerationOptions { MaxNewTokens = 8, Greedy = true }).Tokens[0];
        Assert.Equal(greedy, llama.Greedy(ids, greedy.Length));
        var (mean, _) = LogitDifferences(ours, llama, [.. ids, .. greedy]);
        output.WriteLine($"stories260K q4_0: mean |Δlogit| {mean:G3}");
        Assert.True(mean < 1.0, $"q4_0 mean |Δlogit| {mean}");
    }

    public static TheoryData<string> Fixtures => new() { "llama_gqa", "gemma_mqa", "neox_parallel", "neox_sequential" };

    /// <summary>Every architecture's fixture (GQA, Gemma's MQA with head_dim ≠ hidden/heads, NeoX parallel and sequential) in f32.</summary>
    [Theory]
    [MemberData(nameof(Fixtures))]
    public void EveryArchitectureAgreesWithLlamaCpp(string fixture)
    {
        using var tmp = new TempDir();
        var dir = WithByteVocabulary(Support.Fixtures.PathOf($"models/{fixture}"), tmp.File("model"));
        var gguf = Export(dir, tmp.File("m.gguf"), "f32");
        var ours = CausalLM.Load(dir);
        int[] prompt = [3, 17, 42, 5, 9];
        using var llama = new LlamaCpp(gguf);
        var greedy = Generator.Generate(ours, [prompt], new GenerationOptions { MaxNewTokens = 16, Greedy = true }).Tokens[0];
        Assert.Equal(greedy, llama.Greedy(prompt, greedy.Length));
        var worst = WorstLogitDifference(ours, llama, [.. prompt, .. greedy]);
        output.WriteLine($"{fixture} f32: max |Δlogit| {worst:G3}");
        float tolerance = fixture == "llama_gqa" ? 1e-4f : 5e-3f;
        Assert.True(worst <= tolerance, $"{fixture}: max |Δlogit| {worst} > {tolerance}");
    }

    /// <summary>
    /// rope_scaling on llama_gqa: linear as llama.rope.scaling.* keys, llama3 as the rope_freqs tensor the converter adds
    /// (an original context of 16 positions, so that the 21 positions compared reach the rescaled frequencies).
    /// </summary>
    [Theory]
    [InlineData("""{"rope_type": "linear", "factor": 2.0}""")]
    [InlineData("""{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 16}""")]
    public void RopeScalingAgreesWithLlamaCpp(string ropeScaling)
    {
        using var tmp = new TempDir();
        var dir = WithByteVocabulary(Support.Fixtures.PathOf("models/llama_gqa"), tmp.File("model"));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        config["rope_scaling"] = JsonNode.Parse(ropeScaling);
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        var gguf = Export(dir, tmp.File("m.gguf"), "f32");
        var ours = CausalLM.Load(dir);
        int[] ids = [.. Enumerable.Range(0, 21).Select(i => (i * 7 + 3) % 64)];
        using var llama = new LlamaCpp(gguf);
        var worst = WorstLogitDifference(ours, llama, ids);
        Assert.True(worst <= 1e-4f, $"{ropeScaling}: max |Δlogit| {worst}");
    }

    /// <summary><c>--adapter</c>: the file holds the merged model, as PeftModel.MergeAndUnload gives it.</summary>
    [Fact]
    public void AnAdapterIsMergedBeforeExport()
    {
        using var tmp = new TempDir();
        var dir = WithByteVocabulary(Support.Fixtures.PathOf("adapters/base"), tmp.File("base"));
        var adapter = Support.Fixtures.PathOf("adapters/lora");
        var gguf = tmp.File("merged.gguf");
        var result = GgufExport.Write(dir, gguf, GgufExportType.F32, adapter);
        Assert.True(result.AdapterMerged);
        var merged = PeftModel.Load(CausalLM.Load(dir), adapter).MergeAndUnload();
        int[] ids = [1, 7, 12, 30, 4, 4, 9];
        using var llama = new LlamaCpp(gguf);
        Assert.True(WorstLogitDifference(merged, llama, ids) <= 1e-4f);
        Assert.True(WorstLogitDifference(CausalLM.Load(dir), llama, ids) > 1e-2f, "the adapter changed nothing: the test proves nothing");
    }

    private static string Export(string dir, string path, string type)
    {
        var (code, stdout, stderr) = WbCli.Run("export", "gguf", dir, "--out", path, "--type", type, "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal(type, JsonNode.Parse(stdout)!["type"]!.GetValue<string>());
        return path;
    }

    private static float WorstLogitDifference(ICausalLM ours, LlamaCpp llama, int[] ids) => LogitDifferences(ours, llama, ids).Max;

    private static (double Mean, float Max) LogitDifferences(ICausalLM ours, LlamaCpp llama, int[] ids)
    {
        var expected = ours.Logits(ids, 1, ids.Length);
        var actual = llama.Logits(ids);
        int v = expected.Length / ids.Length;
        float max = 0; double sum = 0;
        for (int t = 0; t < ids.Length; t++)
            for (int i = 0; i < v; i++)
            {
                float d = MathF.Abs(actual[t][i] - expected[t * v + i]);
                max = MathF.Max(max, d);
                sum += d;
            }
        return (sum / expected.Length, max);
    }

    /// <summary>
    /// A copy of a fixture model with a byte-level BPE tokenizer.json of its vocab_size tokens (the characters from '!'
    /// on, no merges): the fixtures ship no tokenizer, and a GGUF file needs one.
    /// </summary>
    internal static string WithByteVocabulary(string fixture, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var f in new[] { "config.json", "model.safetensors" }) File.Copy(Path.Combine(fixture, f), Path.Combine(target, f));
        int n = ModelConfig.Load(target).VocabSize;
        var vocab = new JsonObject();
        for (int i = 0; i < n; i++) vocab[((char)('!' + i)).ToString()] = i;
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0", ["added_tokens"] = new JsonArray(),
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray() },
        };
        File.WriteAllText(Path.Combine(target, "tokenizer.json"), tokenizer.ToJsonString());
        return target;
    }
}
