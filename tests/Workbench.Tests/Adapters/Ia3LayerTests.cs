using Workbench.Adapters;
using Workbench.Adapters.Ia3;
using Workbench.Adapters.Merge;
using Workbench.Engine;
using Workbench.Engine.Nn;
using Workbench.Quantization;
using Workbench.Tests.Support;

namespace Workbench.Tests.Adapters;

public class Ia3LayerTests
{
    private static (Ia3Linear Layer, Tensor L) Layer(Linear baseLayer, Tensor l, bool feedforward)
    {
        var layer = new Ia3Linear(baseLayer, feedforward, new AdapterDropout(), 0);
        layer.AddAdapter("default", true, new Random(0));
        layer.LoadAdapterTensor("default", "ia3_l", l);
        return (layer, layer.Ia3L["default"]);
    }

    [Theory]
    [InlineData("ia3_k", "model.layers.0.self_attn.k_proj", false)]
    [InlineData("ia3_down", "model.layers.1.mlp.down_proj", true)]
    [InlineData("ia3_bias", null, false)]
    public void OutputAndGradientsMatchPyTorch(string tag, string? module, bool feedforward)
    {
        var r = AdapterTestModels.Reference;
        Linear baseLayer;
        Tensor l;
        if (module is null)
        {
            baseLayer = new Linear(r["ia3_bias.w"], r["ia3_bias.b"]);
            l = r["ia3_bias.l"];
        }
        else
        {
            baseLayer = new Linear(Fixtures.Load("adapters/base/model.safetensors")[module + ".weight"]);
            l = Fixtures.Load("adapters/ia3/adapter_model.safetensors")[$"base_model.model.{module}.ia3_l"];
        }
        var (layer, vector) = Layer(baseLayer, l, feedforward);
        Assert.Equal(feedforward ? [1, baseLayer.InFeatures] : [baseLayer.OutFeatures, 1], vector.Shape);
        var x = r[$"{tag}.x"].Clone();
        x.RequiresGrad = true;
        var y = layer.Forward(x);
        Close.Assert(r[$"{tag}.y"], y, 1e-5f, 1e-5f, "y");
        y.Backward(r[$"{tag}.dy"]);
        Close.Assert(r[$"{tag}.dx"], x.Grad!, 1e-5f, 1e-5f, "dx");
        Close.Assert(r[$"{tag}.dl"], vector.Grad!, 1e-4f, 1e-5f, "dl");
    }

    [Fact]
    public void BiasedAttentionMergeScalesRowsAndBiasAndUnmergeRestores()
    {
        var r = AdapterTestModels.Reference;
        var w = r["ia3_bias.w"].Clone();
        var b = r["ia3_bias.b"].Clone();
        var baseLayer = new Linear(w, b);
        var (layer, _) = Layer(baseLayer, r["ia3_bias.l"], feedforward: false);
        var x = r["ia3_bias.x"];
        var adapted = layer.Forward(x);
        layer.Merge();
        Close.Assert(r["ia3_bias.merged_w"], baseLayer.Weight, 1e-5f, 1e-6f, "W·l by rows");
        Close.Assert(r["ia3_bias.merged_b"], baseLayer.Bias!, 1e-5f, 1e-6f, "b·l");
        Close.Assert(adapted, layer.Forward(x), 1e-5f, 1e-5f, "merged forward");
        layer.Unmerge();
        Close.Assert(w, baseLayer.Weight, 1e-6f, 1e-7f, "unmerged W");
        Close.Assert(b, baseLayer.Bias!, 1e-6f, 1e-7f, "unmerged b");
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        var rng = new Random(4);
        var w = Tensor.Randn(rng, 0.5f, 5, 4);
        var bias = Tensor.Randn(rng, 0.5f, 5);
        foreach (var ff in new[] { false, true })
        {
            var l = Tensor.Randn(rng, 1f, ff ? [1, 4] : [5, 1]);
            FiniteDifference.Check(t =>
            {
                var layer = new Ia3Linear(new Linear(w, bias), ff, new AdapterDropout(), 0);
                layer.AddAdapter("default", true, rng);
                layer.Ia3L.SetParameter("default", t[1]);
                return layer.Forward(t[0]);
            }, [Tensor.Randn(rng, 1f, 3, 4), l], eps: 1e-2f, rtol: 1e-2f, atol: 1e-3f);
        }
    }

    [Fact]
    public void NeoXDefaultsWrapFusedQkvAndDense4hToHAsFeedForward()
    {
        var tree = AdapterTestModels.NeoXBlock();
        var peft = PeftModel.Create(tree, new Ia3Config(), modelType: "gpt_neox");
        var qkv = Assert.IsType<Ia3Linear>(tree.Find("gpt_neox.layers.0.attention.query_key_value"));
        var ff = Assert.IsType<Ia3Linear>(tree.Find("gpt_neox.layers.0.mlp.dense_4h_to_h"));
        Assert.False(qkv.IsFeedforward);
        Assert.True(ff.IsFeedforward);
        Assert.Equal([18, 1], qkv.Ia3L["default"].Shape);
        Assert.Equal([1, 24], ff.Ia3L["default"].Shape);
        Assert.All(qkv.Ia3L["default"].ToArray(), v => Assert.Equal(1f, v));
        Assert.Equal(18 + 24, peft.ParameterCounts().Trainable);
    }

    [Fact]
    public void GivenTargetsKeepOnlyTheDefaultFeedForwardModulesAmongThem()
    {
        var peft = PeftModel.Create(AdapterTestModels.NeoXBlock(), new Ia3Config { TargetModules = TargetModules.Of("query_key_value") }, modelType: "gpt_neox");
        var saved = (Ia3Config)peft.Config("default");
        Assert.Equal(["query_key_value"], saved.TargetModules!.Names!);
        Assert.Empty(saved.FeedforwardModules!.Names!);   // dense_4h_to_h is no target: the saved config must load again
        using var dir = new TempDir();
        peft.Save(dir.Path);
        PeftModel.Load(AdapterTestModels.NeoXBlock(), dir.Path, modelType: "gpt_neox");
    }

    [Fact]
    public void MergingIntoAQuantisedBaseIsRefused()
    {
        var w = Tensor.Randn(new Random(2), 0.5f, 8, 64);
        var tree = new Container();
        tree.Add("mlp", new Container()).Add("down_proj", new FourBitLinear(Linear4bit.Quantize(w)));
        var peft = PeftModel.Create(tree, new Ia3Config { TargetModules = TargetModules.Of("down_proj"), FeedforwardModules = TargetModules.Of("down_proj") }, modelType: "llama");
        var e = Assert.Throws<NotSupportedException>(() => peft.MergeAndUnload());
        Assert.Contains("quantised", e.Message);
        Assert.Contains("IA3 merge", e.Message);
    }

    /// <summary>A 4-bit layer seen as a LinearLayer, as the QLoRA model builds them.</summary>
    private sealed class FourBitLinear(Linear4bit q) : LinearLayer
    {
        public override int InFeatures => q.InFeatures;
        public override int OutFeatures => q.OutFeatures;
        public override Tensor Forward(Tensor x) => q.Forward(x);
    }
}
