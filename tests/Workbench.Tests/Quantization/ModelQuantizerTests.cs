using Workbench.Adapters;
using Workbench.Adapters.Lora;
using Workbench.Engine;
using Workbench.Engine.Nn;
using Workbench.Models;
using Workbench.Models.Llama;
using Workbench.Quantization;
using Workbench.Tests.Support;

namespace Workbench.Tests.Quantization;

public class ModelQuantizerTests
{
    private static readonly string[] LinearNames = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    /// <summary>hidden 64, ffn 128, 2 layers, 4 heads (2 KV), vocab 96, untied head: the fixture checkpoint's shape.</summary>
    internal static ModelConfig Tiny => ModelConfig.Load(Fixtures.PathOf("qlora/tiny-llama-bnb4"));

    private static Tensor Logits(LlamaForCausalLM model, int[] ids) => model.Forward(ids, 1, ids.Length);

    [Fact]
    public void QuantizeReplacesEveryLinearLayerButTheHead()
    {
        var model = new LlamaForCausalLM(Tiny, WeightSources.Random(1));
        var replaced = ModelQuantizer.Quantize(model, QuantOptions.QLora);

        Assert.Equal(14, replaced.Count);
        foreach (var (path, module) in model.NamedModules().Where(m => LinearNames.Any(n => m.Path.EndsWith(n))))
        {
            var q = Assert.IsType<Linear4bit>(module);
            Assert.Equal(QuantType.Nf4, q.Weight.Type);
            Assert.NotNull(q.Weight.Nested);
            Assert.Contains(path, replaced);
        }
        Assert.IsType<Linear>(model.Find("lm_head"));
    }

    [Fact]
    public void QuantisedModelComputesWithTheDequantisedWeights()
    {
        var quantized = new LlamaForCausalLM(Tiny, WeightSources.Random(2));
        ModelQuantizer.Quantize(quantized, new QuantOptions { Type = QuantType.Fp4 });
        var dense = new LlamaForCausalLM(Tiny, WeightSources.Random(2));
        foreach (var (path, module) in quantized.NamedModules().ToList())
            if (module is Linear4bit q) dense.ReplaceModule(path, ModelQuantizer.Dequantize(q));

        int[] ids = [3, 14, 15, 92, 65, 35];
        Close.Assert(Logits(dense, ids), Logits(quantized, ids), rtol: 1e-4f, atol: 1e-4f, what: "4-bit model vs dequantised weights");
    }

    [Fact]
    public void BuildingIn4BitQuantisesEachWeightOnceAndKeepsEmbeddingsInBf16()
    {
        var requests = new Dictionary<string, int>();
        var random = WeightSources.Random(3);
        WeightSource counting = (name, shape) =>
        {
            requests[name] = requests.GetValueOrDefault(name) + 1;
            return random(name, shape);
        };
        var built = ModelQuantizer.Build(w => new LlamaForCausalLM(Tiny, w), counting, QuantOptions.QLora);
        var full = new LlamaForCausalLM(Tiny, WeightSources.Random(3));
        var layout = ParameterLayout.For(Tiny);

        Assert.Equal(layout.Parameters.Select(p => p.Name).Order(), requests.Keys.Order());
        Assert.All(requests.Values, count => Assert.Equal(1, count));
        Assert.Equal(DType.BF16, built.EmbedTokens.Weight.DType);
        Assert.Equal(DType.BF16, built.Find("lm_head").Parameter("weight").DType);
        Assert.Equal(full.EmbedTokens.Weight.To(DType.BF16).ToArray(), built.EmbedTokens.Weight.ToArray());
        Assert.Equal(DType.F32, built.Norm.Weight.DType);

        ModelQuantizer.Quantize(full, QuantOptions.QLora);
        foreach (var (path, module) in full.NamedModules())
            if (module is Linear4bit expected)
            {
                var actual = Assert.IsType<Linear4bit>(built.Find(path));
                Assert.Equal(expected.Weight.Codes, actual.Weight.Codes);
                Assert.Equal(expected.Weight.Nested!.Codes, actual.Weight.Nested!.Codes);
            }
    }

    [Fact]
    public void LoadIn8bitGivesLinear8bitLayers()
    {
        var built = ModelQuantizer.Build(w => new LlamaForCausalLM(Tiny, w), WeightSources.Random(4), QuantOptions.FromFlags(false, true)!);
        Assert.IsType<Linear8bit>(built.Find("model.layers.1.mlp.down_proj"));
        Assert.IsType<Linear>(built.Find("lm_head"));
    }

    [Fact]
    public void CliFlagsMapToOptions()
    {
        Assert.Null(QuantOptions.FromFlags(false, false));
        Assert.Equal(new QuantOptions { Type = QuantType.Nf4, DoubleQuant = true }.ToString(), QuantOptions.FromFlags(true, false, "nf4", true)!.ToString());
        Assert.Equal(QuantType.Fp4, QuantOptions.FromFlags(true, false, "fp4")!.Type);
        Assert.Equal(QuantType.Int8, QuantOptions.FromFlags(false, true)!.Type);
        Assert.Throws<ArgumentException>(() => QuantOptions.FromFlags(true, true));
        Assert.Throws<ArgumentException>(() => QuantOptions.FromFlags(true, false, "int4"));
    }

    [Fact]
    public void LoraWrapsA4bitLayerAndOnlyTheAdapterLearns()
    {
        var model = ModelQuantizer.Build(w => new LlamaForCausalLM(Tiny, w), WeightSources.Random(5), QuantOptions.QLora);
        var peft = PeftModel.Create(model, new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = TargetModules.Of(LinearNames) });
        Assert.Equal(14, peft.Layers().Count());
        var lora = Assert.IsType<LoraLinear>(model.Find("model.layers.0.self_attn.q_proj"));
        Assert.IsType<Linear4bit>(lora.BaseLayer);

        // B starts at zero: one step must move B and give A a gradient only through B
        int[] ids = [1, 2, 3, 4, 5, 6, 7, 8];
        var loss = Ops.CrossEntropy(Logits(model, ids).Reshape(8, 96), [2, 3, 4, 5, 6, 7, 8, 9]);
        loss.Backward();
        Assert.All(model.TrainableParameters(), p => Assert.NotNull(p.Grad));
        Assert.Contains(lora.LoraB["default"].Weight.Grad!.ToArray(), g => g != 0);
        Assert.Equal(14 * 2, model.TrainableParameters().Count());
    }

    [Fact]
    public void LoraOverA4bitLayerPassesFiniteDifferences()
    {
        var rng = new Random(6);
        var lora = new LoraLinear(Linear4bit.Quantize(Tensor.Randn(rng, 0.1f, 24, 64), null, QuantType.Nf4), new AdapterDropout(), 0);
        lora.AddAdapter("default", 4, 8f / 4, 0f, LoraInit.Default, rng);
        var a = lora.LoraA["default"].Weight;
        var b = lora.LoraB["default"].Weight;
        b.Data.AsSpan().Fill(0.05f);
        FiniteDifference.Check(inputs => lora.Forward(inputs[0]), [Tensor.Randn(rng, 1f, 3, 64), a, b], eps: 1e-2f, rtol: 1e-2f, atol: 1e-3f);
    }

    [Fact]
    public void Ia3ScalingOfInputsAndOutputsWorksOnA4bitLayer()
    {
        // IA3 multiplies a feed-forward layer's input by l_ff [in] and an attention layer's output by l [out];
        // both only need the 4-bit layer's input gradient, so they train on a frozen 4-bit base.
        var rng = new Random(7);
        var layer = Linear4bit.Quantize(Tensor.Randn(rng, 0.1f, 16, 64), null, QuantType.Nf4, doubleQuant: true);
        var x = Tensor.Randn(rng, 1f, 2, 3, 64);
        var lIn = Tensor.Uniform(rng, 0.5f, 1.5f, 64);
        var lOut = Tensor.Uniform(rng, 0.5f, 1.5f, 16);
        FiniteDifference.Check(t => Ops.Mul(layer.Forward(Ops.Mul(x, t[0])), t[1]), [lIn, lOut], eps: 1e-2f, rtol: 1e-2f, atol: 1e-3f);
    }

    [Fact]
    public void TrainableLayersAreNotQuantised()
    {
        var rng = new Random(8);
        var trainable = Tensor.Randn(rng, 0.1f, 8, 64);
        trainable.RequiresGrad = true;
        var model = new Container();
        model.Add("frozen", new Linear(Tensor.Randn(rng, 0.1f, 8, 64)));
        model.Add("adapter", new Linear(trainable));
        Assert.Equal(["frozen"], ModelQuantizer.Quantize(model, QuantOptions.QLora));
        Assert.IsType<Linear>(model.Find("adapter"));
    }
}
