using Workbench.Engine;
using Workbench.Models;
using Workbench.Tests.Support;

namespace Workbench.Tests.Models;

public class ModelConfigTests
{
    [Fact]
    public void PolyglotKo58B()
    {
        var c = ModelConfig.Load(RepoPaths.Data("configs/polyglot-ko-5.8b"));
        Assert.Equal(("gpt_neox", "GPTNeoXForCausalLM"), (c.ModelType, c.Architecture));
        Assert.Equal((4096, 16384, 28, 16, 16, 256), (c.HiddenSize, c.IntermediateSize, c.NumLayers, c.NumHeads, c.NumKvHeads, c.HeadDim));
        Assert.Equal((30080, 2048), (c.VocabSize, c.MaxPositions));
        Assert.Equal(64, c.RotaryDim); // model card: RoPE on 64 of each head's 256 dimensions
        Assert.Equal((10000.0, 1e-5), (c.RopeTheta, c.NormEps));
        Assert.Equal(NormKind.LayerNorm, c.Norm);
        Assert.True(c.UseParallelResidual);
        Assert.True(c.AttentionBias);
        Assert.False(c.TieWordEmbeddings);
        Assert.Equal(("gelu", "float16"), (c.HiddenAct, c.TorchDtype));
        Assert.Equal(0, c.BosTokenId);
        Assert.Equal([0], c.EosTokenIds);
        Assert.EndsWith("config.json", c.Source);
    }

    [Fact]
    public void Llama3AndGemma()
    {
        var l = ModelConfig.Load(RepoPaths.Data("configs/Meta-Llama-3-8B/config.json"));
        Assert.Equal((8, 128, 500000.0, 1e-5, "bfloat16"), (l.NumKvHeads, l.HeadDim, l.RopeTheta, l.NormEps, l.TorchDtype));
        Assert.Equal((128000, 128001), (l.BosTokenId, l.EosTokenIds.Single()));
        Assert.Equal(128, l.RotaryDim);

        var g = ModelConfig.Load(RepoPaths.Data("configs/gemma-2b"));
        Assert.Equal((1, 256, 8192, 1e-6), (g.NumKvHeads, g.HeadDim, g.MaxPositions, g.NormEps));
        Assert.True(g.TieWordEmbeddings);
        Assert.Equal("gelu_pytorch_tanh", g.HiddenAct); // hidden_activation absent → the tanh approximation
        Assert.Equal((2, 0), (g.BosTokenId, g.PadTokenId));
        Assert.Equal(NormKind.RmsNorm, g.Norm);
    }

    [Fact]
    public void Llama31ReadsItsRopeScaling()
    {
        var c = ModelConfig.Load(RepoPaths.Data("configs/Llama-3.1-8B"));
        Assert.Equal(new RopeScaling(RopeScalingType.Llama3, 8f, 1f, 4f, 8192), c.RopeScaling);
        Assert.Equal((131072, 500000.0), (c.MaxPositions, c.RopeTheta));
        Assert.Equal(RopeScaling.None, ModelConfig.Load(RepoPaths.Data("configs/Meta-Llama-3-8B")).RopeScaling); // "rope_scaling": null
    }

    private const string Mini = "\"hidden_size\":64,\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,\"vocab_size\":100";

    [Theory]
    [InlineData("""{"model_type":"llama",MINI,"rope_scaling":{"type":"linear","factor":4.0}}""", RopeScalingType.Linear, 10000.0)]
    [InlineData("""{"model_type":"gpt_neox",MINI,"rope_scaling":{"rope_type":"dynamic","factor":2.0}}""", RopeScalingType.None, 10000.0)]
    [InlineData("""{"model_type":"llama",MINI,"rope_parameters":{"rope_type":"llama3","rope_theta":500000.0,"factor":32.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}}""", RopeScalingType.Llama3, 500000.0)]
    [InlineData("""{"model_type":"llama",MINI,"rope_parameters":{"rope_type":"default","rope_theta":1000000.0}}""", RopeScalingType.None, 1000000.0)]
    public void RopeScalingOldAndNewSpellings(string json, RopeScalingType type, double theta)
    {
        var c = ModelConfig.Parse(json.Replace("MINI", Mini), "c.json");   // rope_type or the older "type"; transformers 5's rope_parameters
        Assert.Equal((type, theta), (c.RopeScaling.Type, c.RopeTheta));
    }

    [Theory]
    [InlineData("""{"type":"yarn","factor":4.0}""", "rope_scaling.rope_type", "'yarn' is not supported; supported: default, linear, dynamic, llama3")]
    [InlineData("""{"rope_type":"linear"}""", "rope_scaling.factor", "is required but missing")]
    [InlineData("""{"rope_type":"linear","factor":-2}""", "rope_scaling.factor", "must be positive")]
    [InlineData("""{"rope_type":"llama3","factor":8.0,"low_freq_factor":4.0,"high_freq_factor":1.0,"original_max_position_embeddings":8192}""", "rope_scaling.high_freq_factor", "must be greater than low_freq_factor")]
    [InlineData("""{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0}""", "rope_scaling.original_max_position_embeddings", "is required but missing")]
    [InlineData("\"linear\"", "rope_scaling", "expected an object")]
    public void BadRopeScalingNamesTheField(string scaling, string field, string problem)
    {
        var ex = Assert.Throws<ModelConfigException>(() =>
            ModelConfig.Parse($$"""{"model_type":"llama",{{Mini}},"rope_scaling":{{scaling}}}""", "/m/config.json"));
        Assert.Equal(field, ex.Field);
        Assert.StartsWith($"/m/config.json: field '{field}': ", ex.Message);
        Assert.Contains(problem, ex.Message);
    }

    [Fact]
    public void AbsentFieldsTakeTransformersDefaults()
    {
        var llama = ModelConfig.Parse("""{"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":100}""", "mini.json");
        Assert.Equal(("LlamaForCausalLM", 4, 16, 2048), (llama.Architecture, llama.NumKvHeads, llama.HeadDim, llama.MaxPositions));
        Assert.Equal((10000.0, 1e-6, 1.0, "silu", "float32"), (llama.RopeTheta, llama.NormEps, llama.RotaryPct, llama.HiddenAct, llama.TorchDtype));
        Assert.Equal((1, 2, (int?)null), (llama.BosTokenId, llama.EosTokenIds.Single(), llama.PadTokenId));
        Assert.False(llama.TieWordEmbeddings || llama.AttentionBias || llama.MlpBias || llama.UseParallelResidual);

        var neox = ModelConfig.Parse("""{"model_type":"gpt_neox","hidden_size":64,"intermediate_size":256,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":100,"rope_theta":null}""", "neox.json");
        Assert.Equal((0.25, 4, 10000.0, 1e-5, "gelu"), (neox.RotaryPct, neox.RotaryDim, neox.RopeTheta, neox.NormEps, neox.HiddenAct));
        Assert.True(neox.UseParallelResidual && neox.AttentionBias && neox.MlpBias);

        var gemma = ModelConfig.Parse("""{"model_type":"gemma","hidden_size":64,"intermediate_size":256,"num_hidden_layers":2,"num_attention_heads":16,"vocab_size":100,"eos_token_id":[1,107],"dtype":"bfloat16"}""", "g.json");
        Assert.Equal((16, 256, true), (gemma.NumKvHeads, gemma.HeadDim, gemma.TieWordEmbeddings));
        Assert.Equal([1, 107], gemma.EosTokenIds);
        Assert.Equal("bfloat16", gemma.TorchDtype);
    }

    [Fact]
    public void UnknownModelTypeListsTheSupportedOnes()
    {
        var ex = Assert.Throws<ModelConfigException>(() => ModelConfig.Parse("""{"model_type":"bert"}""", "/m/config.json"));
        Assert.Equal(("/m/config.json", "model_type"), (ex.File, ex.Field));
        Assert.Contains("'bert' is not supported; supported: llama, gpt_neox, gemma", ex.Message);
    }

    [Theory]
    [InlineData("""{"hidden_size":64}""", "model_type", "is required")]
    [InlineData("""{"model_type":"llama","intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":100}""", "hidden_size", "is required but missing")]
    [InlineData("""{"model_type":"llama","hidden_size":"64","intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":100}""", "hidden_size", "expected an integer, found \"64\"")]
    [InlineData("""{"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":0,"num_attention_heads":4,"vocab_size":100}""", "num_hidden_layers", "must be positive")]
    [InlineData("""{"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":3,"vocab_size":100}""", "num_key_value_heads", "3 does not divide num_attention_heads 4")]
    [InlineData("""{"model_type":"gpt_neox","hidden_size":66,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":100}""", "num_attention_heads", "4 does not divide hidden_size 66")]
    [InlineData("""{"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":100,"tie_word_embeddings":"yes"}""", "tie_word_embeddings", "expected true or false")]
    public void BadFieldsNameTheFileAndField(string json, string field, string problem)
    {
        var ex = Assert.Throws<ModelConfigException>(() => ModelConfig.Parse(json, "/models/x/config.json"));
        Assert.Equal(field, ex.Field);
        Assert.StartsWith($"/models/x/config.json: field '{field}': ", ex.Message);
        Assert.Contains(problem, ex.Message);
    }

    [Fact]
    public void MalformedJsonNamesTheFile()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("config.json"), "{\"model_type\": \"llama\",, }");
        var ex = Assert.Throws<ModelConfigException>(() => ModelConfig.Load(dir.Path));
        Assert.StartsWith(dir.File("config.json") + ": not valid JSON", ex.Message);
        Assert.Throws<FileNotFoundException>(() => ModelConfig.Load(dir.File("missing")));
    }
}
