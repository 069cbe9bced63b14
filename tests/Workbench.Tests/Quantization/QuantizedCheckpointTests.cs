using Workbench.Engine;
using Workbench.Formats;
using Workbench.Models;
using Workbench.Models.Llama;
using Workbench.Quantization;
using Workbench.Tests.Support;

namespace Workbench.Tests.Quantization;

/// <summary>A transformers-style checkpoint whose linear weights are bitsandbytes 4-bit state (tests/fixtures/make_qlora.py).</summary>
public class QuantizedCheckpointTests
{
    private static readonly string Dir = Fixtures.PathOf("qlora/tiny-llama-bnb4");


    [Fact]
    public void PreQuantisedLayersLoadAsLinear4bitAndGiveTorchsLogits()
    {
        var expected = Fixtures.Load("qlora/tiny_llama_expected.safetensors");
        var model = (LlamaForCausalLM)QuantizedCheckpoint.Load(Dir, options: null);

        var q = Assert.IsType<Linear4bit>(model.Find("model.layers.0.self_attn.q_proj"));
        Assert.Equal(QuantType.Nf4, q.Weight.Type);
        Assert.NotNull(q.Weight.Nested);
        var down = Assert.IsType<Linear4bit>(model.Find("model.layers.1.mlp.down_proj"));
        Assert.Equal(QuantType.Fp4, down.Weight.Type);
        Assert.Null(down.Weight.Nested);
        Assert.Equal(expected["q_proj_dequant"].ToArray(), q.Weight.Dequantize().ToArray());
        Assert.Equal(expected["down_proj_dequant"].ToArray(), down.Weight.Dequantize().ToArray());

        var ids = expected["ids"].ToArray().Select(v => (int)v).ToArray();
        var logits = model.Forward(ids, 1, ids.Length);
        Close.Assert(expected["logits"], logits, rtol: 1e-4f, atol: 1e-4f, what: "tiny Llama logits from a bnb 4-bit checkpoint");
    }

    [Fact]
    public void SavingWritesTheBitsandbytesEntriesBack()
    {
        var model = (LlamaForCausalLM)QuantizedCheckpoint.Load(Dir, options: null);
        using var tmp = new TempDir();
        QuantizedCheckpoint.Save(model, tmp.File("model.safetensors"));
        var original = SafeTensorsFile.Load(Path.Combine(Dir, "model.safetensors"));
        var saved = SafeTensorsFile.Load(tmp.File("model.safetensors"));

        Assert.Equal(original.Keys.Order(), saved.Keys.Order());
        foreach (var (name, e) in original)
        {
            var a = saved[name];
            Assert.True(e.DType == a.DType && e.Shape.SequenceEqual(a.Shape), $"{name}: {a}, expected {e}");
            if (e.DType == DType.U8) Assert.True(((U8Storage)e.Storage).Data.SequenceEqual(((U8Storage)a.Storage).Data), $"{name}: bytes differ");
            else Assert.Equal(e.ToArray(), a.ToArray());
        }
    }

    [Fact]
    public void PlainCheckpointIsQuantisedWhileLoading()
    {
        var config = ModelQuantizerTests.Tiny;
        var dense = new LlamaForCausalLM(config, WeightSources.Random(11));
        using var tmp = new TempDir();
        File.Copy(Path.Combine(Dir, "config.json"), tmp.File("config.json"));
        SafeTensorsWriter.Write(tmp.File("model.safetensors"), dense.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor));

        var model = (LlamaForCausalLM)QuantizedCheckpoint.Load(tmp.Path, QuantOptions.FromFlags(true, false, "fp4", doubleQuant: false));
        var layer = Assert.IsType<Linear4bit>(model.Find("model.layers.1.self_attn.v_proj"));
        var reference = QuantizedTensor.Quantize(dense.Find("model.layers.1.self_attn.v_proj").Parameter("weight"), QuantType.Fp4);
        Assert.Equal(reference.Codes, layer.Weight.Codes);
        Assert.Equal(reference.Absmax, layer.Weight.Absmax);
        Assert.Equal(DType.BF16, model.EmbedTokens.Weight.DType);
    }

    [Fact]
    public void Linear8bitHasNoBitsandbytesForm()
    {
        var model = ModelQuantizer.Build(w => new LlamaForCausalLM(ModelQuantizerTests.Tiny, w), WeightSources.Random(12), new QuantOptions { Type = QuantType.Int8 });
        var e = Assert.Throws<NotSupportedException>(() => QuantizedCheckpoint.StateDict(model));
        Assert.Contains("model.layers.0.self_attn.q_proj", e.Message);
    }
}
