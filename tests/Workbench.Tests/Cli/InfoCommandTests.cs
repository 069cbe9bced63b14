using System.Text.Json;
using Workbench.Cli;
using Workbench.Engine;
using Workbench.Formats;
using Workbench.Models;
using Workbench.Tests.Support;

namespace Workbench.Tests.Cli;

[Collection("Console")]
public class InfoCommandTests
{
    private static (int Code, string Out, string Err) Wb(params string[] args) => WbCli.Run(args);

    [Fact]
    public void ShapeOnlyConfigReportsCountsDtypeAndMemory()
    {
        var (code, stdout, _) = Wb("info", RepoPaths.Data("configs/polyglot-ko-5.8b"), "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        var r = doc.RootElement;
        Assert.Equal("GPTNeoXForCausalLM", r.GetProperty("architecture").GetString());
        Assert.Equal("gpt_neox", r.GetProperty("model_type").GetString());
        Assert.Equal(5_885_059_072, r.GetProperty("parameters").GetInt64());
        var by = r.GetProperty("by_component");
        Assert.Equal(123_207_680, by.GetProperty("embeddings").GetInt64());
        Assert.Equal(123_207_680, by.GetProperty("head").GetInt64());
        Assert.Equal(5_885_059_072, by.EnumerateObject().Sum(p => p.Value.GetInt64()));
        Assert.Equal("float16", r.GetProperty("dtype").GetString());
        var memory = r.GetProperty("memory_bytes");
        Assert.Equal(2 * 5_885_059_072, memory.GetProperty("weights").GetInt64());
        Assert.Equal(4 * 5_885_059_072, memory.GetProperty("float32").GetInt64());
        Assert.Equal(2 * 5_885_059_072, memory.GetProperty("bfloat16").GetInt64());
        Assert.Equal(MemoryEstimate.Nf4(ParameterLayout.For(ModelConfig.Load(RepoPaths.Data("configs/polyglot-ko-5.8b")))), memory.GetProperty("nf4").GetInt64());
        Assert.Equal(64, r.GetProperty("config").GetProperty("rotary_dim").GetInt32());
        Assert.False(r.TryGetProperty("checkpoint", out _));
    }

    [Fact]
    public void TextOutputShowsTheCountAndThatNoWeightsWereChecked()
    {
        var (code, stdout, _) = Wb("info", RepoPaths.Data("configs/gemma-2b/config.json"));
        Assert.Equal(0, code);
        Assert.Contains("GemmaForCausalLM (model_type gemma)", stdout);
        Assert.Contains("2,506,172,416", stdout);
        Assert.Contains("shape-only", stdout);
    }

    [Fact]
    public void RopeAndItsScalingAreShown()
    {
        var (code, stdout, _) = Wb("info", RepoPaths.Data("configs/Llama-3.1-8B"));
        Assert.Equal(0, code);
        Assert.Contains("rope         θ 500000, 128 of 128 dims, scaling llama3 ×8 (original 8192 positions, low 1, high 4)\n", stdout);
        (code, stdout, _) = Wb("info", RepoPaths.Data("configs/polyglot-ko-5.8b"), "--json");
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal("none", doc.RootElement.GetProperty("config").GetProperty("rope_scaling").GetString());
        Assert.Equal(64, doc.RootElement.GetProperty("config").GetProperty("rotary_dim").GetInt32());
    }

    [Fact]
    public void DirectoryWithWeightsIsCheckedTensorByTensor()
    {
        var (code, stdout, _) = Wb("info", RepoPaths.Data("models/stories260K"), "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        var r = doc.RootElement;
        Assert.Equal(260_032, r.GetProperty("parameters").GetInt64());
        Assert.Equal("float32", r.GetProperty("dtype").GetString());
        Assert.Equal(1_040_128, r.GetProperty("memory_bytes").GetProperty("weights").GetInt64());
        var checkpoint = r.GetProperty("checkpoint");
        Assert.True(checkpoint.GetProperty("matches").GetBoolean());
        Assert.Equal(47, checkpoint.GetProperty("tensors").GetInt32());
        Assert.Equal("model.safetensors", checkpoint.GetProperty("files")[0].GetString());
    }

    [Fact]
    public void MismatchedWeightsAreListedAndExitWith1()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("config.json"),
            """{"model_type":"llama","hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2,"vocab_size":10,"torch_dtype":"bfloat16"}""");
        var layout = ParameterLayout.For(ModelConfig.Load(dir.Path));
        var tensors = layout.Parameters
            .Where(p => p.Name != "model.norm.weight")
            .ToDictionary(p => p.Name, p => Tensor.Zeros(p.Name == "lm_head.weight" ? [11, 8] : p.Shape).To(DType.BF16));
        tensors["model.layers.0.extra.weight"] = Tensor.Zeros(2).To(DType.BF16);
        SafeTensorsWriter.WriteSharded(dir.Path, tensors, maxShardBytes: 200);

        var (code, stdout, _) = Wb("info", dir.Path);
        Assert.Equal(1, code);
        Assert.Contains("missing: model.norm.weight (expected [8])", stdout);
        Assert.Contains("wrong shape: lm_head.weight is [11, 8], expected [10, 8]", stdout);
        Assert.Contains("unexpected: model.layers.0.extra.weight BF16[2]", stdout);

        (code, stdout, _) = Wb("info", dir.Path, "--json");
        Assert.Equal(1, code);
        using var doc = JsonDocument.Parse(stdout);
        var checkpoint = doc.RootElement.GetProperty("checkpoint");
        Assert.False(checkpoint.GetProperty("matches").GetBoolean());
        Assert.True(checkpoint.GetProperty("files").GetArrayLength() > 1);
        Assert.Equal([10, 8], checkpoint.GetProperty("wrong_shape")[0].GetProperty("expected").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("bfloat16", doc.RootElement.GetProperty("dtype").GetString());
    }

    [Fact]
    public void BadPathExitsWith2AndSaysWhy()
    {
        var (code, stdout, stderr) = Wb("info", "/no/such/model");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal("wb info: /no/such/model: no such file or directory\n", stderr);
    }

    [Fact]
    public void BadConfigOrCorruptWeightsExitWith2NamingTheFile()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("config.json"), """{"model_type":"t5"}""");
        var (code, _, stderr) = Wb("info", dir.Path);
        Assert.Equal(2, code);
        Assert.Contains(dir.File("config.json"), stderr);
        Assert.Contains("supported: llama, gpt_neox, gemma", stderr);

        File.Copy(RepoPaths.Data("models/stories260K/config.json"), dir.File("config.json"), overwrite: true);
        File.WriteAllBytes(dir.File("model.safetensors"), File.ReadAllBytes(RepoPaths.Data("models/stories260K/model.safetensors"))[..100_000]);
        (code, _, stderr) = Wb("info", dir.Path);
        Assert.Equal(2, code);
        Assert.Contains(dir.File("model.safetensors"), stderr);
        Assert.Contains("run past the data section", stderr);
    }
}
