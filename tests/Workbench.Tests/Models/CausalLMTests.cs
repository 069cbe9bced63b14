using Workbench.Engine;
using Workbench.Engine.Nn;
using Workbench.Formats;
using Workbench.Models;
using Workbench.Models.Gemma;
using Workbench.Models.GptNeoX;
using Workbench.Models.Llama;
using Workbench.Tests.Support;

namespace Workbench.Tests.Models;

/// <summary>
/// Tiny random-weight models of each architecture against the plain-PyTorch forwards of tests/fixtures/make_models.py
/// (transformers' code, float32 on the stored weights widened). Tolerance: 1e-4 relative plus 1e-5 absolute for
/// logits near zero; the bf16/f16 fixtures need no more, since both sides compute in float32 on the same widened
/// values (Gemma's √hidden is rounded to bf16 on both sides).
/// </summary>
public class CausalLMTests
{
    public static TheoryData<string, Type> Fixtures => new()
    {
        { "llama_gqa", typeof(LlamaForCausalLM) },
        { "neox_parallel", typeof(GPTNeoXForCausalLM) },
        { "neox_sequential", typeof(GPTNeoXForCausalLM) },
        { "gemma_mqa", typeof(GemmaForCausalLM) },
    };

    private const float Rtol = 1e-4f, Atol = 1e-5f;

    private static string Dir(string name) => Support.Fixtures.PathOf($"models/{name}");
    private static Dictionary<string, Tensor> Reference(string name) => Support.Fixtures.Load($"models/{name}/reference.safetensors");
    private static int[] Ints(Tensor t) => t.ToArray().Select(v => (int)v).ToArray();

    [Theory, MemberData(nameof(Fixtures))]
    public void LogitsMatchPyTorch(string name, Type type)
    {
        var model = CausalLM.Load(Dir(name));
        Assert.IsType(type, model);
        var r = Reference(name);
        var ids = r["input_ids"];
        using var _ = GradMode.NoGrad();
        var logits = model.Forward(Ints(ids), ids.Shape[0], ids.Shape[1]);
        Close.Assert(r["logits"], logits, Rtol, Atol, $"{name} logits");
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void CachedDecodeStepsMatchPyTorch(string name, Type _)
    {
        var model = CausalLM.Load(Dir(name));
        var r = Reference(name);
        var (ids, steps) = (r["input_ids"], r["decode_ids"]);
        int b = ids.Shape[0], v = model.Config.VocabSize;
        using var noGrad = GradMode.NoGrad();
        var cache = new KvCache(model.Config.NumLayers, b);
        model.Forward(Ints(ids), b, ids.Shape[1], cache);
        var expected = r["decode_logits"];
        for (int s = 0; s < steps.Shape[1]; s++)
        {
            var step = Ints(steps.Narrow(1, s, 1));
            var logits = model.Forward(step, b, 1, cache);                  // (B, 1, V)
            Close.Assert(expected.Narrow(1, s, 1).Contiguous(), logits, Rtol, Atol, $"{name} cached step {s}");
        }
        Assert.Equal(ids.Shape[1] + steps.Shape[1], cache.Length);
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void LeftPaddedBatchMatchesPyTorchAtRealTokens(string name, Type _)
    {
        var model = CausalLM.Load(Dir(name));
        var r = Reference(name);
        var (ids, mask) = (r["padded_ids"], Ints(r["padded_mask"]));
        int b = ids.Shape[0], t = ids.Shape[1], v = model.Config.VocabSize;
        using var noGrad = GradMode.NoGrad();
        var cache = new KvCache(model.Config.NumLayers, b);
        var logits = model.Forward(Ints(ids), b, t, cache, mask).ToArray();
        var expected = r["padded_logits"].ToArray();
        for (int i = 0; i < b * t; i++)
            if (mask[i] == 1)
                Close.Assert(expected.AsSpan(i * v, v), logits.AsSpan(i * v, v), Rtol, Atol, $"{name} padded logits at {i / t},{i % t}");

        var stepMask = Enumerable.Range(0, b).SelectMany(row => mask.Skip(row * t).Take(t).Append(1)).ToArray();
        var step = model.Forward(Ints(r["padded_step_ids"]), b, 1, cache, stepMask);
        Close.Assert(r["padded_step_logits"], step, Rtol, Atol, $"{name} padded cached step");
    }

    /// <summary>
    /// Every parameter's gradient of the next-token loss, against PyTorch autograd, with the logits then the loss and
    /// with the head fused with the loss (<see cref="CausalLMModule.HeadLoss"/>: a plain head, or Gemma's tied one). The
    /// residual stream sends one gradient to several consumers, so this also holds the engine's gradient accumulation
    /// to torch's.
    /// </summary>
    [Theory, MemberData(nameof(Fixtures))]
    public void LossGradientsMatchPyTorch(string name, Type _)
    {
        var r = Reference(name);
        var ids = Ints(r["input_ids"]);
        int b = r["input_ids"].Shape[0], seq = r["input_ids"].Shape[1];
        var targets = Workbench.Backends.Managed.CausalLmLoss.ShiftLabels(ids, b, seq);
        foreach (bool fused in new[] { false, true })
        {
            var model = CausalLM.Load(Dir(name), DType.F32);
            var parameters = model.NamedParameters().ToList();
            foreach (var (_, p) in parameters) p.RequiresGrad = true;
            var loss = fused
                ? model.HeadLoss(model.HiddenStates(ids, b, seq).Reshape(b * seq, -1), targets)
                : Ops.CrossEntropy(model.Forward(ids, b, seq), targets);
            Assert.Equal(r["loss"].Item(), loss.Item(), 4);
            loss.Backward();
            foreach (var (pname, p) in parameters) Close.Assert(r["grad." + pname], p.Grad!, 1e-3f, 1e-5f, $"{name} (fused: {fused}) d loss / d {pname}");
        }
    }

    /// <summary>An adapted head is no single weight: its loss goes through the logits, the same value as by hand.</summary>
    [Fact]
    public void AnAdaptedHeadTakesTheLogitsPath()
    {
        var r = Reference("llama_gqa");
        var model = CausalLM.Load(Dir("llama_gqa"));
        Workbench.Adapters.PeftModel.Create(model, new Workbench.Adapters.Lora.LoraConfig { R = 2, LoraAlpha = 4, TargetModules = Workbench.Adapters.TargetModules.Of("lm_head") });
        var loraB = model.NamedParameters().Single(p => p.Name.Contains("lora_B")).Tensor;
        Tensor.Randn(new Random(3), 0.5f, loraB.Shape).Span.CopyTo(loraB.Span);   // B starts at zero: make the adapter count
        var ids = Ints(r["input_ids"]);
        int b = r["input_ids"].Shape[0], seq = r["input_ids"].Shape[1];
        var targets = Workbench.Backends.Managed.CausalLmLoss.ShiftLabels(ids, b, seq);
        var hidden = model.HiddenStates(ids, b, seq).Reshape(b * seq, -1);
        var headLoss = model.HeadLoss(hidden, targets);
        Assert.Equal(Ops.CrossEntropy(model.LmHead(hidden), targets).Item(), headLoss.Item());
        Assert.NotEqual(r["loss"].Item(), headLoss.Item(), 4);      // the adapter does take part
    }

    [Fact]
    public void CachedAndUncachedLogitsAreEqual()
    {
        var model = CausalLM.Load(Dir("llama_gqa"));
        int[] ids = [5, 9, 14, 3, 40, 22, 17, 8, 61];
        using var _ = GradMode.NoGrad();
        var full = model.Forward(ids, 1, ids.Length).ToArray();             // (1, 9, V)
        var cache = new KvCache(model.Config.NumLayers, 1);
        var parts = new List<float>();
        foreach (var (start, length) in new[] { (0, 4), (4, 1), (5, 3), (8, 1) })
            parts.AddRange(model.Forward(ids[start..(start + length)], 1, length, cache).ToArray());
        Close.Assert(full, parts.ToArray(), 1e-5f, 1e-5f, "cached vs uncached");
    }

    [Fact]
    public void ARewoundCacheContinuesAsIfTheLaterTokensWereNeverSeen()
    {
        var model = CausalLM.Load(Dir("neox_parallel"));
        int[] context = [5, 9, 14, 3, 40], first = [22, 17], second = [8];
        using var _ = GradMode.NoGrad();
        var cache = new KvCache(model.Config.NumLayers, 1);
        model.Forward(context, 1, context.Length, cache);
        model.Forward(first, 1, first.Length, cache);
        cache.Rewind(context.Length);
        var continued = model.Forward(second, 1, 1, cache).ToArray();                          // (1, 1, V)
        var direct = model.Forward([.. context, .. second], 1, context.Length + 1).Narrow(1, context.Length, 1).ToArray();
        Close.Assert(direct, continued, 1e-5f, 1e-5f, "rewound cache vs a fresh forward");
        Assert.Equal(context.Length + 1, cache.Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Rewind(cache.Length + 1));
    }

    [Fact]
    public void TheHeadOnHiddenStatesGivesTheLogits()
    {
        var model = CausalLM.Load(Dir("neox_parallel"));
        int[] ids = [5, 9, 14, 3, 40, 22];
        using var _ = GradMode.NoGrad();
        var hidden = model.HiddenStates(ids, 2, 3);                                             // (2, 3, C)
        Assert.Equal([2, 3, model.Config.HiddenSize], hidden.Shape);
        Close.Assert(model.Forward(ids, 2, 3), model.LmHead(hidden), 1e-6f, 1e-6f, "head(hidden) vs forward");
    }

    public static TheoryData<string> Configs => new()
    {
        "configs/polyglot-ko-5.8b", "configs/Llama-2-7b-hf", "configs/Meta-Llama-3-8B", "configs/Llama-3.1-8B", "configs/gemma-2b", "models/stories260K",
    };

    /// <summary>Full-size models built from shape-only weights (one element broadcast by zero strides).</summary>
    [Theory, MemberData(nameof(Configs))]
    public void NamedParametersEqualTheLayout(string config)
    {
        var c = ModelConfig.Load(RepoPaths.Data(config));
        WeightSource shapeOnly = (_, shape) => new Tensor(Storage.Allocate(DType.BF16, 1), shape, new int[shape.Length]);
        var model = CausalLM.Create(c, shapeOnly);
        var expected = ParameterLayout.For(c).Parameters.Select(p => p.ToString());
        var actual = model.NamedParameters().Select(p => $"{p.Name} {Shape.Format(p.Tensor.Shape)}");
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData("llama_gqa", """{"attention_bias": true, "mlp_bias": true, "tie_word_embeddings": true}""")]
    [InlineData("neox_parallel", """{"tie_word_embeddings": true, "attention_bias": false}""")]
    [InlineData("gemma_mqa", """{"tie_word_embeddings": false}""")]
    public void VariantsKeepTheLayout(string fixture, string overrides)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Dir(fixture), "config.json")))!.AsObject();
        foreach (var (k, v) in System.Text.Json.Nodes.JsonNode.Parse(overrides)!.AsObject()) json[k] = v?.DeepClone();
        var c = ModelConfig.Parse(json.ToJsonString(), "variant");
        var model = CausalLM.Create(c, WeightSources.Random(seed: 1));
        Assert.Equal(ParameterLayout.For(c).Parameters.Select(p => p.ToString()), model.NamedParameters().Select(p => $"{p.Name} {Shape.Format(p.Tensor.Shape)}"));
    }

    [Fact]
    public void RopeScalingReachesTheModelsTables()
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Dir("llama_gqa"), "config.json")))!.AsObject();
        json["rope_scaling"] = System.Text.Json.Nodes.JsonNode.Parse("""{"rope_type": "linear", "factor": 4.0}""");
        var c = ModelConfig.Parse(json.ToJsonString(), "scaled");
        var model = (LlamaForCausalLM)CausalLM.Create(c, WeightSources.Random(seed: 1));
        var plain = new RopeCache(c.HeadDim, c.RotaryDim, (float)c.RopeTheta, c.MaxPositions);
        Assert.Equal(plain.InverseFrequencies.Select(f => f / 4f), model.Rope.InverseFrequencies);
    }

    [Fact]
    public void WeightsKeepTheirFileDtype()
    {
        var gemma = (GemmaForCausalLM)CausalLM.Load(Dir("gemma_mqa"));
        Assert.All(gemma.NamedParameters(), p => Assert.Equal(DType.BF16, p.Tensor.DType));
        Assert.Equal(5.65625f, gemma.EmbeddingScale);                      // bf16(√32) = 5.65625 (√32 = 5.656854)
        var neox = CausalLM.Load(Dir("neox_parallel"));
        Assert.All(neox.NamedParameters(), p => Assert.Equal(DType.F16, p.Tensor.DType));
        var widened = CausalLM.Load(Dir("neox_parallel"), DType.F32);
        Assert.All(widened.NamedParameters(), p => Assert.Equal(DType.F32, p.Tensor.DType));
    }

    [Fact]
    public void MissingAndWrongShapedTensorsAreNamedWithTheFile()
    {
        using var dir = new TempDir();
        File.Copy(Path.Combine(Dir("llama_gqa"), "config.json"), dir.File("config.json"));
        var tensors = SafeTensorsFile.Load(Path.Combine(Dir("llama_gqa"), "model.safetensors"));
        tensors.Remove("model.layers.1.mlp.up_proj.weight");
        tensors["model.norm.weight"] = Tensor.Zeros(31);
        SafeTensorsWriter.Write(dir.File("model.safetensors"), tensors);
        var e = Assert.Throws<ModelLoadException>(() => CausalLM.Load(dir.Path));
        Assert.Contains(dir.File("model.safetensors"), e.Message);
        Assert.Contains("missing: model.layers.1.mlp.up_proj.weight (expected [48, 32])", e.Message);
        Assert.Contains("wrong shape: model.norm.weight is [31], expected [32]", e.Message);
        Assert.Throws<DirectoryNotFoundException>(() => CausalLM.Load(dir.File("nope")));
    }
}
