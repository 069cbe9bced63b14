using System.Text.Json.Nodes;
using Workbench.Adapters;
using Workbench.Adapters.Lora;
using Workbench.Adapters.Merge;
using Workbench.Engine;
using Workbench.Engine.Nn;
using Workbench.Formats;
using Workbench.Models;
using Workbench.Tests.Support;

namespace Workbench.Tests.Adapters;

public class MergeTests
{
    [Theory]
    [InlineData("lora")]
    [InlineData("ia3")]
    public void MergedModelGivesTheAdapterModelsLogitsAndPyTorchsMergedWeights(string kind)
    {
        var model = AdapterTestModels.TinyLlama();
        var peft = PeftModel.Load(model, Fixtures.PathOf($"adapters/{kind}"));
        var adapted = AdapterTestModels.Logits(model);
        using (peft.DisableAdapters()) Assert.NotEqual(adapted.ToArray(), AdapterTestModels.Logits(model).ToArray());

        var merged = peft.MergeAndUnload();
        Assert.DoesNotContain(merged.NamedModules(), m => m.Module is AdapterLayer);
        Close.Assert(adapted, AdapterTestModels.Logits(merged), 1e-5f, 1e-6f, "merged logits");
        var expected = Fixtures.Load($"adapters/{kind}_merged.safetensors");
        var actual = merged.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, t) in expected) Close.Assert(t, actual[name], 1e-5f, 1e-6f, name);
    }

    [Fact]
    public void UnmergeRestoresTheBaseWeights()
    {
        var model = AdapterTestModels.TinyLlama();
        var before = model.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor.Clone());
        var peft = PeftModel.Load(model, AdapterTestModels.LoraDir);
        var adapted = AdapterTestModels.Logits(model);
        AdapterMerge.Merge(peft);
        Assert.All(peft.Layers(), l => Assert.True(l.Layer.Merged));
        Close.Assert(adapted, AdapterTestModels.Logits(model), 1e-5f, 1e-6f, "merged in place");
        AdapterMerge.Unmerge(peft);
        var unloaded = peft.Unload();
        foreach (var (name, t) in unloaded.NamedParameters()) Close.Assert(before[name], t, 1e-6f, 1e-6f, name);
    }

    [Fact]
    public void MergingIntoBf16KeepsTheDtype()
    {
        var tree = AdapterTestModels.NeoXBlock();
        var qkv = (Linear)tree.Find("gpt_neox.layers.0.attention.query_key_value");
        qkv.SetParameter("weight", qkv.Weight.To(DType.BF16));
        var peft = PeftModel.Create(tree, new LoraConfig { InitLoraWeights = LoraInit.Random }, modelType: "gpt_neox");
        var x = Tensor.Randn(new Random(3), 1f, 2, 6);
        var adapted = AdapterTestModels.At(tree, "gpt_neox.layers.0.attention.query_key_value").Forward(x);
        peft.MergeAndUnload();
        Assert.Equal(DType.BF16, qkv.Weight.DType);
        Close.Assert(adapted, qkv.Forward(x), 2e-2f, 2e-2f, "bf16 merged");
    }

    [Theory]
    [InlineData("linear")]
    [InlineData("cat")]
    public void WeightedCombinationMatchesTheWeightedSumOfUpdates(string combination)
    {
        var tree = AdapterTestModels.NeoXBlock();
        var peft = PeftModel.Create(tree, new LoraConfig { R = 2, LoraAlpha = 4, InitLoraWeights = LoraInit.Random }, "a", modelType: "gpt_neox");
        peft.AddAdapter("b", new LoraConfig { R = 2, LoraAlpha = 2, InitLoraWeights = LoraInit.Random });
        WeightedAdapter.Add(peft, ["a", "b"], [0.7f, 0.4f], "mix", combination);
        var layer = (LoraLinear)tree.Find("gpt_neox.layers.0.attention.query_key_value");
        Assert.Equal(combination == "cat" ? 4 : 2, layer.Rank("mix"));
        Assert.Equal(1f, layer.Scaling("mix"));
        var delta = layer.DeltaWeight("mix");
        if (combination == "cat")
        {
            // B·A = Σ wᵢ sᵢ Bᵢ Aᵢ exactly
            var expected = Ops.Add(Ops.Scale(layer.DeltaWeight("a"), 0.7f), Ops.Scale(layer.DeltaWeight("b"), 0.4f));
            Close.Assert(expected, delta, 1e-5f, 1e-6f, "cat ΔW");
        }
        else
        {
            // (Σ √(wᵢsᵢ) Bᵢ)(Σ √(wᵢsᵢ) Aᵢ): the weighted sum plus cross terms, as PEFT's linear combination gives
            float ka = MathF.Sqrt(0.7f * 2f), kb = MathF.Sqrt(0.4f * 1f);
            var b = Ops.Add(Ops.Scale(layer.LoraB["a"].Weight, ka), Ops.Scale(layer.LoraB["b"].Weight, kb));
            var a = Ops.Add(Ops.Scale(layer.LoraA["a"].Weight, ka), Ops.Scale(layer.LoraA["b"].Weight, kb));
            Close.Assert(Ops.MatMul(b, a), delta, 1e-5f, 1e-6f, "linear ΔW");
        }
        Assert.Equal(combination == "cat" ? 4 : 2, ((LoraConfig)peft.Config("mix")).R);
        Assert.False(layer.LoraA["mix"].Weight.RequiresGrad);
        peft.SetAdapter("mix");
        var x = Tensor.Randn(new Random(1), 1f, 2, 6);
        var expectedY = Ops.Linear(x, Ops.Add(layer.BaseLayer is Linear l ? l.Weight : throw new InvalidOperationException(), delta),
            ((Linear)layer.BaseLayer).Bias);
        Close.Assert(expectedY, layer.Forward(x), 1e-5f, 1e-5f, "mix forward");
    }

    [Fact]
    public void FanInFanOutDeltaIsTransposed()
    {
        var rng = new Random(2);
        var a = Tensor.Randn(rng, 1f, 2, 3);
        var b = Tensor.Randn(rng, 1f, 4, 2);
        var delta = LoraMath.DeltaWeight(a, b, 0.5f, fanInFanOut: false);
        Close.Assert(delta.Transpose(0, 1).Contiguous(), LoraMath.DeltaWeight(a, b, 0.5f, fanInFanOut: true), 0, 0, "transposed");
        Assert.Equal(0.5f * (b[1, 0] * a[0, 2] + b[1, 1] * a[1, 2]), delta[1, 2], 5);
    }

    [Fact]
    public void ExportWritesABaseFreeStandaloneModelThatLoadsBack()
    {
        var model = AdapterTestModels.TinyLlama();
        var peft = PeftModel.Load(model, AdapterTestModels.LoraDir);
        var adapted = AdapterTestModels.Logits(model);
        using var dir = new TempDir();
        var outDir = dir.File("merged");
        var files = StandaloneExport.Export(peft.MergeAndUnload(), AdapterTestModels.BaseDir, outDir, maxShardBytes: 8_000);
        Assert.Contains("model.safetensors.index.json", files);
        Assert.Contains("tokenizer.json", files);
        Assert.Contains("special_tokens_map.json", files);
        Assert.Contains("tokenizer_config.json", files);
        Assert.Equal(File.ReadAllText(Path.Combine(AdapterTestModels.BaseDir, "tokenizer.json")), File.ReadAllText(Path.Combine(outDir, "tokenizer.json")));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "config.json")))!.AsObject();
        Assert.False(config.ContainsKey("base_model_name_or_path"));
        Assert.Equal("llama", config["model_type"]!.GetValue<string>());
        Assert.Equal(["merged"], Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName));   // no temp left
        using (var checkpoint = SafeTensorsCheckpoint.Open(outDir))
        {
            Assert.True(checkpoint.Files.Count > 1);
            Assert.True(LayoutCheck.Compare(ParameterLayout.For(ModelConfig.Load(outDir)), checkpoint.Entries).Matches);
            Assert.All(checkpoint.Entries, e => Assert.Equal("F32", e.DType));
        }
        Close.Assert(adapted, AdapterTestModels.Logits(CausalLM.Load(outDir)), 1e-5f, 1e-6f, "reloaded merged model");

        var e = Assert.Throws<OutputRefusedException>(() => StandaloneExport.Export(CausalLM.Load(outDir), AdapterTestModels.BaseDir, outDir));
        Assert.Contains("pass --force to replace it", e.Message);
        StandaloneExport.Export(CausalLM.Load(outDir), AdapterTestModels.BaseDir, outDir, force: true);
        Assert.Single(Directory.EnumerateFileSystemEntries(dir.Path));
        Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(outDir, "model.safetensors.index.json")));
    }
}
