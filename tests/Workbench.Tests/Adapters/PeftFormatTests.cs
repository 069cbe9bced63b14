using Workbench.Adapters;
using Workbench.Adapters.Ia3;
using Workbench.Adapters.Lora;
using Workbench.Engine;
using Workbench.Formats;
using Workbench.Tests.Support;

namespace Workbench.Tests.Adapters;

public class PeftFormatTests
{
    [Fact]
    public void LoadedLoraAdapterGivesTheReferenceLayerOutputs()
    {
        var model = AdapterTestModels.TinyLlama();
        var peft = PeftModel.Load(model, AdapterTestModels.LoraDir);
        var config = Assert.IsType<LoraConfig>(peft.Config("default"));
        Assert.Equal((4, 8f, 0.05f, "tiny-llama"), (config.R, config.LoraAlpha, config.LoraDropout, config.BaseModelNameOrPath));
        Assert.Equal(6, peft.Layers().Count());
        Assert.Equal(0, peft.ParameterCounts().Trainable);                  // loaded for inference: frozen
        var r = AdapterTestModels.Reference;
        using var _ = GradMode.NoGrad();
        foreach (var (tag, path) in new[] { ("lora_q", "model.layers.0.self_attn.q_proj"), ("lora_down", "model.layers.1.mlp.down_proj") })
            Close.Assert(r[$"{tag}.y"], AdapterTestModels.At(model, path).Forward(r[$"{tag}.x"]), 1e-5f, 1e-6f, tag);
        Assert.Equal(2, ((LoraLinear)model.Find("model.layers.1.mlp.down_proj")).Rank("default"));   // rank_pattern
    }

    [Fact]
    public void LoadedIa3AdapterGivesTheReferenceLayerOutputs()
    {
        var model = AdapterTestModels.TinyLlama();
        var peft = PeftModel.Load(model, AdapterTestModels.Ia3Dir, isTrainable: true);
        Assert.Equal(2 * (8 + 8 + 24), peft.ParameterCounts().Trainable);
        var r = AdapterTestModels.Reference;
        using var _ = GradMode.NoGrad();
        foreach (var (tag, path) in new[] { ("ia3_k", "model.layers.0.self_attn.k_proj"), ("ia3_down", "model.layers.1.mlp.down_proj") })
            Close.Assert(r[$"{tag}.y"], AdapterTestModels.At(model, path).Forward(r[$"{tag}.x"]), 1e-5f, 1e-6f, tag);
    }

    [Theory]
    [InlineData("lora")]
    [InlineData("ia3")]
    public void SavedFilesAreByteForByteConfigAndKeyForKeyWhatPeftWrote(string kind)
    {
        var source = Fixtures.PathOf($"adapters/{kind}");
        var peft = PeftModel.Load(AdapterTestModels.TinyLlama(), source);
        using var dir = new TempDir();
        peft.Save(dir.Path);
        Assert.Equal(File.ReadAllText(Path.Combine(source, PeftFormat.ConfigFileName)), File.ReadAllText(dir.File(PeftFormat.ConfigFileName)));
        var expected = SafeTensorsFile.Load(Path.Combine(source, PeftFormat.WeightsFileName));
        var saved = SafeTensorsFile.Load(dir.File(PeftFormat.WeightsFileName));
        Assert.Equal(expected.Keys.Order(), saved.Keys.Order());
        foreach (var (key, t) in expected) Close.Assert(t, saved[key], 0, 0, key);
        using var reader = SafeTensorsReader.Open(dir.File(PeftFormat.WeightsFileName));
        Assert.Equal("pt", reader.Metadata["format"]);
    }

    [Fact]
    public void TrainedAdapterRoundTripsWithModulesToSaveAndANamedSubfolder()
    {
        var model = AdapterTestModels.TinyLlama();
        var peft = PeftModel.Create(model, new LoraConfig { R = 2, InitLoraWeights = LoraInit.Random, ModulesToSave = ["lm_head"], BaseModelNameOrPath = "tiny" });
        peft.AddAdapter("second", new LoraConfig { R = 3, TargetModules = TargetModules.Of("o_proj"), InitLoraWeights = LoraInit.Random });
        var lmHead = model.Find("lm_head").Parameter("weight");
        lmHead.Span[0] += 1f;                                               // a trained head copy differs from the base
        peft.SetAdapter("default");
        var logits = AdapterTestModels.Logits(model);

        using var dir = new TempDir();
        peft.Save(dir.Path);
        var keys = SafeTensorsFile.Load(dir.File(PeftFormat.WeightsFileName)).Keys.ToHashSet();
        Assert.Contains("base_model.model.lm_head.weight", keys);           // no modules_to_save.<name> infix
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", keys);
        Assert.Contains("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight", keys);
        Assert.Equal(2 * 2 * 2 + 1, keys.Count);
        Assert.True(File.Exists(Path.Combine(dir.Path, "second", PeftFormat.WeightsFileName)));
        Assert.Equal(["o_proj"], PeftFormat.ReadConfig(Path.Combine(dir.Path, "second")).TargetModules!.Names);

        var reloaded = AdapterTestModels.TinyLlama();
        PeftModel.Load(reloaded, dir.Path);
        Close.Assert(logits, AdapterTestModels.Logits(reloaded), 0, 0, "logits after reload");
    }

    [Fact]
    public void MismatchedAdaptersFailWithTheKeysNamed()
    {
        using var dir = new TempDir();
        var tensors = SafeTensorsFile.Load(Path.Combine(AdapterTestModels.LoraDir, PeftFormat.WeightsFileName));
        tensors.Remove("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
        tensors["base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight"] = Tensor.Zeros(4, 16);
        tensors["base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"] = Tensor.Zeros(8, 3);
        SafeTensorsWriter.Write(dir.File(PeftFormat.WeightsFileName), tensors);
        File.Copy(Path.Combine(AdapterTestModels.LoraDir, PeftFormat.ConfigFileName), dir.File(PeftFormat.ConfigFileName));
        var e = Assert.Throws<AdapterFormatException>(() => PeftModel.Load(AdapterTestModels.TinyLlama(), dir.Path));
        Assert.Contains("missing (1): base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", e.Message);
        Assert.Contains("unexpected (1): base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight", e.Message);
        Assert.Contains("wrong shape (1): base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight is [8, 3], the model expects [8, 4]", e.Message);
    }

    [Fact]
    public void UnsupportedConfigFieldsAreRejectedByName()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(PeftFormat.ConfigFileName), """{"peft_type": "LORA", "target_modules": ["q_proj"], "use_dora": true}""");
        Assert.Contains("'use_dora'", Assert.Throws<AdapterFormatException>(() => PeftFormat.ReadConfig(dir.Path)).Message);
        File.WriteAllText(dir.File(PeftFormat.ConfigFileName), """{"peft_type": "LORA", "init_lora_weights": "pissa"}""");
        Assert.Contains("'init_lora_weights'", Assert.Throws<AdapterFormatException>(() => PeftFormat.ReadConfig(dir.Path)).Message);
        // The minimal config PEFT documents reads with PEFT's defaults.
        File.WriteAllText(dir.File(PeftFormat.ConfigFileName), """{"peft_type": "LORA", "target_modules": "model\\..*\\.q_proj"}""");
        var minimal = Assert.IsType<LoraConfig>(PeftFormat.ReadConfig(dir.Path));
        Assert.Equal((8, 8f, "none", @"model\..*\.q_proj"), (minimal.R, minimal.LoraAlpha, minimal.Bias, minimal.TargetModules!.Pattern));
        Assert.IsType<Ia3Config>(PeftFormat.ReadConfig(AdapterTestModels.Ia3Dir));
    }
}
