using Workbench.Adapters;
using Workbench.Adapters.Ia3;
using Workbench.Adapters.Lora;
using Workbench.Models;
using Workbench.Tests.Support;

namespace Workbench.Tests.Adapters;

public class AdapterParameterCountTests
{
    private static ModelConfig Config(string name) => ModelConfig.Load(RepoPaths.Data($"configs/{name}"));

    [Fact]
    public void PolyglotDefaultsMatchPeft()
    {
        var lora = AdapterParameterCount.For(Config("polyglot-ko-5.8b"), new LoraConfig());
        Assert.Equal(3_670_016, lora.Trainable);
        Assert.Equal(5_885_059_072, lora.Base);
        Assert.Equal(5_885_059_072 + 3_670_016, lora.Total);
        Assert.Equal(28, lora.TargetedLayers.Count);
        Assert.All(lora.TargetedLayers, p => Assert.EndsWith(".attention.query_key_value", p));

        var ia3 = AdapterParameterCount.For(Config("polyglot-ko-5.8b"), new Ia3Config());
        Assert.Equal(802_816, ia3.Trainable);
        Assert.Equal(5_885_059_072 + 802_816, ia3.Total);
        Assert.Equal(100.0 * 802_816 / (5_885_059_072 + 802_816), ia3.Percent, 12);
    }

    [Fact]
    public void Llama2DefaultsAndAllLinear()
    {
        // PEFT's well-known figure for Llama-2-7b with r=8 on q_proj, v_proj: 4,194,304.
        var c = Config("Llama-2-7b-hf");
        Assert.Equal(4_194_304, AdapterParameterCount.For(c, new LoraConfig()).Trainable);
        // all-linear: q,k,v,o (4096²) and gate, up, down (4096×11008) per layer, not lm_head: r·(in+out) each.
        var all = AdapterParameterCount.For(c, new LoraConfig { TargetModules = TargetModules.AllLinear });
        Assert.Equal(32L * 8 * (4 * 8192 + 3 * (4096 + 11008)), all.Trainable);
        Assert.DoesNotContain("lm_head", all.TargetedLayers);
        // IA3 llama defaults: k, v (out 4096) and down_proj input (11008).
        Assert.Equal(32L * (4096 + 4096 + 11008), AdapterParameterCount.For(c, new Ia3Config()).Trainable);
    }

    [Fact]
    public void RankPatternModulesToSaveAndBias()
    {
        var c = Config("polyglot-ko-5.8b");
        var pattern = AdapterParameterCount.For(c, new LoraConfig { RankPattern = new Dictionary<string, int> { [@"layers\.0\.attention\.query_key_value"] = 16 } });
        Assert.Equal(3_670_016 + 8 * (4096 + 12288), pattern.Trainable);
        var rs = AdapterParameterCount.For(c, new LoraConfig { ModulesToSave = ["embed_out"] });
        Assert.Equal(3_670_016 + 123_207_680, rs.Trainable);
        Assert.Equal(5_885_059_072 + 3_670_016 + 123_207_680, rs.Total);
        // bias="all" unfreezes every bias (LayerNorms included, as PEFT's name match does) without adding parameters.
        long biases = ParameterLayout.For(c).Parameters.Where(p => p.Name.Contains("bias")).Sum(p => p.Numel);
        var all = AdapterParameterCount.For(c, new LoraConfig { Bias = "all" });
        Assert.Equal(3_670_016 + biases, all.Trainable);
        Assert.Equal(5_885_059_072 + 3_670_016, all.Total);
        Assert.Equal(3_670_016 + 28 * 12288, AdapterParameterCount.For(c, new LoraConfig { Bias = "lora_only" }).Trainable);
    }

    [Fact]
    public void RegexTargetsMatchWholeNamesAndNoMatchIsAnError()
    {
        var c = Config("polyglot-ko-5.8b");
        var regex = AdapterParameterCount.For(c, new LoraConfig { TargetModules = TargetModules.FromString(@".*layers\.(0|1)\.mlp\.dense_4h_to_h") });
        Assert.Equal(2L * 8 * (16384 + 4096), regex.Trainable);
        // A regex must match the whole name: a bare "dense" matches nothing.
        var e = Assert.Throws<ArgumentException>(() => AdapterParameterCount.For(c, new LoraConfig { TargetModules = TargetModules.FromString("dense") }));
        Assert.Contains("match no linear layer", e.Message);
    }

    [Fact]
    public void LiveModelCountsAgreeWithTheShapeOnlyCount()
    {
        var model = AdapterTestModels.TinyLlama();
        var config = new LoraConfig { R = 4, TargetModules = TargetModules.AllLinear, ModulesToSave = ["lm_head"] };
        var peft = PeftModel.Create(model, config);
        var (trainable, total) = peft.ParameterCounts();
        var expected = AdapterParameterCount.For(model.Config, config);
        Assert.Equal(expected.Trainable, trainable);
        Assert.Equal(expected.Total, total);
    }
}
