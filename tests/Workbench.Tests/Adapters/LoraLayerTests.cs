using Workbench.Adapters;
using Workbench.Adapters.Lora;
using Workbench.Engine;
using Workbench.Engine.Nn;
using Workbench.Tests.Support;

namespace Workbench.Tests.Adapters;

public class LoraLayerTests
{
    /// <summary>A LoraLinear holding the fixture's A and B (scaling s), weights and input leaves for gradients.</summary>
    private static (LoraLinear Layer, Tensor A, Tensor B) FromFixture(Dictionary<string, Tensor> r, string tag, Tensor w, float scaling)
    {
        var layer = new LoraLinear(new Linear(w), new AdapterDropout(), 0);
        var a = r[$"{tag}.a"].Clone();
        var b = r[$"{tag}.b"].Clone();
        layer.SetAdapter("default", a, b, scaling, 0f);
        layer.ActiveAdapters.Add("default");
        a.RequiresGrad = b.RequiresGrad = true;
        return (layer, a, b);
    }

    [Theory]
    [InlineData("lora_q", "model.layers.0.self_attn.q_proj", 2f)]        // r 4, α 8
    [InlineData("lora_down", "model.layers.1.mlp.down_proj", 4f)]        // r 2 (rank_pattern), α 8
    public void OutputAndGradientsMatchPyTorch(string tag, string module, float scaling)
    {
        var r = AdapterTestModels.Reference;
        var w = Fixtures.Load("adapters/base/model.safetensors")[module + ".weight"];
        var adapter = Fixtures.Load("adapters/lora/adapter_model.safetensors");
        r[$"{tag}.a"] = adapter[$"base_model.model.{module}.lora_A.weight"];
        r[$"{tag}.b"] = adapter[$"base_model.model.{module}.lora_B.weight"];
        var (layer, a, b) = FromFixture(r, tag, w, scaling);
        var x = r[$"{tag}.x"].Clone();
        x.RequiresGrad = true;
        var y = layer.Forward(x);
        Close.Assert(r[$"{tag}.y"], y, 1e-5f, 1e-6f, "y");
        y.Backward(r[$"{tag}.dy"]);
        Close.Assert(r[$"{tag}.dx"], x.Grad!, 1e-5f, 1e-5f, "dx");
        Close.Assert(r[$"{tag}.da"], a.Grad!, 1e-5f, 1e-5f, "dA");
        Close.Assert(r[$"{tag}.db"], b.Grad!, 1e-5f, 1e-5f, "dB");
        Assert.Null(w.Grad);
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        var rng = new Random(3);
        var w = Tensor.Randn(rng, 0.5f, 5, 4);
        var x = Tensor.Randn(rng, 1f, 2, 3, 4);
        var a = Tensor.Randn(rng, 0.5f, 2, 4);
        var b = Tensor.Randn(rng, 0.5f, 5, 2);
        FiniteDifference.Check(t =>
        {
            var layer = new LoraLinear(new Linear(w), new AdapterDropout(), 0);
            layer.SetAdapter("default", t[1], t[2], 1.5f, 0f);
            layer.ActiveAdapters.Add("default");
            return layer.Forward(t[0]);
        }, [x, a, b], eps: 1e-2f, rtol: 1e-2f, atol: 1e-3f);
    }

    [Fact]
    public void DefaultInitLeavesTheOutputUnchangedAndScalingFollowsRsLora()
    {
        var tree = AdapterTestModels.NeoXBlock();
        var qkv = AdapterTestModels.At(tree, "gpt_neox.layers.0.attention.query_key_value");
        var x = Tensor.Randn(new Random(5), 1f, 2, 6);
        var before = qkv.Forward(x);
        var peft = PeftModel.Create(tree, new LoraConfig { R = 4, LoraAlpha = 8, UseRsLora = true }, modelType: "gpt_neox");
        var lora = Assert.IsType<LoraLinear>(tree.Find("gpt_neox.layers.0.attention.query_key_value"));
        Assert.Equal(8f / 2f, lora.Scaling("default"));                       // α/√r
        Close.Assert(before, lora.Forward(x), 0, 0, "B = 0 at init");
        // kaiming_uniform(a=√5): |A| ≤ 1/√in
        Assert.All(lora.LoraA["default"].Weight.ToArray(), v => Assert.InRange(v, -1 / MathF.Sqrt(6), 1 / MathF.Sqrt(6)));
        Assert.Equal(["gpt_neox.layers.0.attention.query_key_value"], peft.Layers().Select(l => l.Path));
        Assert.Equal(4 * (6 + 18), peft.ParameterCounts().Trainable);
    }

    [Fact]
    public void FusedQueryKeyValueGetsOneUpdateOverAllThreeOutputs()
    {
        var tree = AdapterTestModels.NeoXBlock();
        var baseQkv = (Linear)tree.Find("gpt_neox.layers.0.attention.query_key_value");
        PeftModel.Create(tree, new LoraConfig { R = 2, LoraAlpha = 6, InitLoraWeights = LoraInit.Random }, modelType: "gpt_neox");
        var lora = (LoraLinear)tree.Find("gpt_neox.layers.0.attention.query_key_value");
        var x = Tensor.Randn(new Random(6), 1f, 3, 6);
        // y = x Wᵀ + b + 3·(x Aᵀ) Bᵀ, checked against a dense ΔW
        var expected = Ops.Linear(x, Ops.Add(baseQkv.Weight, Ops.Scale(Ops.MatMul(lora.LoraB["default"].Weight, lora.LoraA["default"].Weight), 3f)), baseQkv.Bias);
        Close.Assert(expected, lora.Forward(x), 1e-5f, 1e-6f, "fused qkv");
        Assert.Equal([18, 2], lora.LoraB["default"].Weight.Shape);
    }

    [Fact]
    public void SeveralAdaptersSwitchAndDisable()
    {
        var tree = AdapterTestModels.NeoXBlock();
        var baseLayer = AdapterTestModels.At(tree, "gpt_neox.layers.0.mlp.dense_4h_to_h");
        var x = Tensor.Randn(new Random(7), 1f, 2, 24);
        var plain = baseLayer.Forward(x);
        var targets = TargetModules.Of("dense_4h_to_h");
        var peft = PeftModel.Create(tree, new LoraConfig { TargetModules = targets, InitLoraWeights = LoraInit.Random }, "one", modelType: "gpt_neox");
        peft.AddAdapter("two", new LoraConfig { R = 2, TargetModules = targets, InitLoraWeights = LoraInit.Random });
        var layer = (LoraLinear)tree.Find("gpt_neox.layers.0.mlp.dense_4h_to_h");
        Assert.Equal("two", peft.ActiveAdapter);
        Assert.False(layer.LoraA["one"].Weight.RequiresGrad);
        Assert.True(layer.LoraA["two"].Weight.RequiresGrad);
        var two = layer.Forward(x);
        peft.SetAdapter("one");
        var one = layer.Forward(x);
        Close.Assert(Ops.Add(plain, layer.DeltaOutput("one", x)), one, 1e-5f, 1e-6f, "adapter one");
        Close.Assert(Ops.Add(plain, layer.DeltaOutput("two", x)), two, 1e-5f, 1e-6f, "adapter two");
        using (peft.DisableAdapters()) Close.Assert(plain, layer.Forward(x), 0, 0, "disabled");
        Close.Assert(one, layer.Forward(x), 0, 0, "enabled again");
    }

    [Fact]
    public void DropoutIsSeededByStepAndReplaysUnderCheckpointing()
    {
        var rng = new Random(8);
        var w = Tensor.Randn(rng, 0.5f, 6, 8);
        var x = Tensor.Randn(rng, 1f, 4, 8);
        var runtime = new AdapterDropout { Seed = 42, Training = true, Step = 3 };
        var layer = new LoraLinear(new Linear(w), runtime, StableHash.Of("layer"));
        layer.SetAdapter("default", Tensor.Randn(rng, 0.5f, 2, 8), Tensor.Randn(rng, 0.5f, 6, 2), 1f, 0.5f);
        layer.ActiveAdapters.Add("default");
        var first = layer.Forward(x);
        Close.Assert(first, layer.Forward(x), 0, 0, "same step, same mask");
        runtime.Step = 4;
        Assert.NotEqual(first.ToArray(), layer.Forward(x).ToArray());
        runtime.Training = false;
        var eval = layer.Forward(x);
        Close.Assert(Ops.Add(Ops.Linear(x, w), layer.DeltaOutput("default", x)), eval, 1e-5f, 1e-6f, "no dropout in eval");

        // Gradients with the layer recomputed in backward equal those of a plain run with the same step.
        runtime.Training = true;
        var a = layer.LoraA["default"].Weight;
        a.RequiresGrad = true;
        var dy = Tensor.Randn(rng, 1f, 4, 6);
        layer.Forward(x).Backward(dy);
        var plainGrad = a.Grad!.Clone();
        a.Grad = null;
        var xi = x.Clone();
        xi.RequiresGrad = true;
        Checkpoint.Run(h => layer.Forward(h[0]), xi).Backward(dy);
        Close.Assert(plainGrad, a.Grad!, 0, 0, "checkpointed dA");
    }

    [Fact]
    public void DropoutOpKeepsAboutOneMinusPAndBackwardUsesTheSameMask()
    {
        var x = Tensor.Ones(100_000);
        x.RequiresGrad = true;
        var y = Ops.Dropout(x, 0.25f, 123);
        var kept = y.ToArray().Count(v => v != 0);
        Assert.InRange(kept / 100_000.0, 0.75 - 0.005, 0.75 + 0.005);  // ±3.6σ for Binomial(1e5, 0.75)
        Assert.All(y.ToArray(), v => Assert.True(v == 0 || MathF.Abs(v - 1 / 0.75f) < 1e-6f));
        y.Backward(Tensor.Ones(100_000));
        Assert.Equal(y.ToArray(), x.Grad!.ToArray());
        FiniteDifference.Check(t => Ops.Dropout(t[0], 0.3f, 9), [Tensor.Randn(new Random(1), 1f, 3, 5)], eps: 1e-2f, rtol: 1e-3f, atol: 1e-4f);
    }
}

internal static class LoraTestExtensions
{
    /// <summary>s·(x Aᵀ) Bᵀ computed directly.</summary>
    public static Tensor DeltaOutput(this LoraLinear layer, string adapter, Tensor x)
    {
        using var _ = GradMode.NoGrad();
        return Ops.Scale(Ops.Linear(Ops.Linear(x, layer.LoraA[adapter].Weight), layer.LoraB[adapter].Weight), layer.Scaling(adapter));
    }
}
