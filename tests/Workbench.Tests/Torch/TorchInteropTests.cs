using TorchSharp;
using Workbench.Adapters;
using Workbench.Adapters.Ia3;
using Workbench.Adapters.Lora;
using Workbench.Quantization;
using Workbench.Tests.Support;
using Workbench.Torch;
using Workbench.Torch.Adapters;
using Workbench.Torch.Quantization;
using static TorchSharp.torch;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Workbench.Tests.Torch;

/// <summary>Our LoRA, IA3 and 4-bit layers on a TorchSharp module of someone else's, by PEFT's name patterns.</summary>
public class TorchInteropTests
{
    /// <summary>A user's module in TorchSharp's idiom: children in fields, registered by RegisterComponents.</summary>
    private sealed class Mlp : nn.Module<TorchTensor, TorchTensor>
    {
        private nn.Module<TorchTensor, TorchTensor> up, down;

        public Mlp(int seed) : base("Mlp")
        {
            manual_seed(seed);
            up = nn.Linear(16, 64);
            down = nn.Linear(64, 8);
            RegisterComponents();
        }

        public override TorchTensor forward(TorchTensor x) => down.call(nn.functional.relu(up.call(x)));
    }

    private static TorchTensor Input() { manual_seed(3); return randn(5, 16); }

    [Fact]
    public void LoraOnAnyModuleTrainsSavesAndLoadsAsPeftFiles()
    {
        var model = new Mlp(seed: 1);
        var before = model.call(Input()).detach();
        var peft = TorchPeftModel.Create(model, new LoraConfig { R = 4, LoraAlpha = 8, InitLoraWeights = LoraInit.Random, TargetModules = TargetModules.Of("up", "down") },
            modelType: "mlp", seed: 5);
        Assert.Equal(["down", "up"], peft.Layers().Select(l => l.Path).Order());
        Assert.Equal(["down.lora_A.default.weight", "down.lora_B.default.weight", "up.lora_A.default.weight", "up.lora_B.default.weight"],
            peft.Trainable().Select(t => t.Name).Order());
        var adapted = model.call(Input());
        Assert.False(adapted.allclose(before));
        adapted.sum().backward();
        Assert.All(peft.Trainable(), t => Assert.NotNull(t.Tensor.Parameter.grad));
        Assert.All(model.named_parameters().Where(p => p.name.Contains("base_layer")), p => Assert.False(p.parameter.requires_grad));
        using (peft.DisableAdapters()) Assert.True(model.call(Input()).allclose(before));

        using var dir = new TempDir();
        peft.Save(dir.Path);
        Assert.Contains("base_model.model.up.lora_A.weight", SafeTensorsKeys(dir.Path));
        var reloaded = new Mlp(seed: 1);
        TorchPeftModel.Load(reloaded, dir.Path, modelType: "mlp");
        Assert.True(reloaded.call(Input()).allclose(adapted.detach()));
    }

    [Fact]
    public void NamedAdaptersAndModulesToSave()
    {
        var model = new Mlp(seed: 4);
        var peft = TorchPeftModel.Create(model, new LoraConfig { R = 2, InitLoraWeights = LoraInit.Random, TargetModules = TargetModules.Of("up"), ModulesToSave = ["down"] },
            modelType: "mlp", seed: 1);
        peft.AddAdapter("second", new LoraConfig { R = 3, InitLoraWeights = LoraInit.Random, TargetModules = TargetModules.Of("up") });
        Assert.Equal("second", peft.ActiveAdapter);
        var second = model.call(Input()).detach();
        peft.SetAdapter("default");
        var first = model.call(Input()).detach();
        Assert.False(first.allclose(second));
        Assert.Contains("down.weight", peft.Trainable().Select(t => t.Name));        // modules_to_save: a trainable float32 copy

        using var dir = new TempDir();
        Assert.Equal([dir.Path, Path.Combine(dir.Path, "second")], peft.Save(dir.Path));
        Assert.Contains("base_model.model.down.weight", SafeTensorsKeys(dir.Path));
        var reloaded = new Mlp(seed: 5);                                              // other base weights: down comes from the file
        var again = TorchPeftModel.Load(reloaded, dir.Path, modelType: "mlp");
        Assert.False(reloaded.call(Input()).allclose(first));                        // up's base weight differs
        again.LoadAdapter(Path.Combine(dir.Path, "second"), "second");
        Assert.Equal(["default", "second"], again.AdapterNames);
    }

    [Fact]
    public void Ia3AndFourBitLayersOnAnyModule()
    {
        var model = new Mlp(seed: 2);
        var before = model.call(Input()).detach();
        Assert.Equal(["down", "up"], TorchQuantizer.Quantize(model, QuantOptions.QLora with { SkipModules = [] }).Order());
        var quantised = model.call(Input()).detach();
        // the model now computes with the dequantised weights: relu(x·W₁ᵀ + b₁)·W₂ᵀ + b₂
        var (up, down) = ((TorchLinear4bit)model.named_children().Single(c => c.name == "up").module, (TorchLinear4bit)model.named_children().Single(c => c.name == "down").module);
        var expected = nn.functional.linear(nn.functional.relu(nn.functional.linear(Input(), up.DenseWeight(), up.get_parameter("bias"))), down.DenseWeight(), down.get_parameter("bias"));
        Assert.True(quantised.allclose(expected, rtol: 1e-5, atol: 1e-6));
        Assert.True((quantised - before).abs().max().item<float>() < 0.3f * before.abs().max().item<float>());

        var peft = TorchPeftModel.Create(model, new Ia3Config { TargetModules = TargetModules.Of("up", "down"), FeedforwardModules = TargetModules.Of("down") },
            modelType: "mlp");
        Assert.True(model.call(Input()).allclose(quantised));                      // vectors start at 1
        Assert.IsType<TorchLinear4bit>(peft.Layers().Single(l => l.Path == "up").Layer.BaseLayer);
        Assert.Equal([1L, 64], peft.Trainable().Single(t => t.Name == "down.ia3_l.default").Tensor.Parameter.shape);
    }

    private static IEnumerable<string> SafeTensorsKeys(string dir) => Workbench.Formats.SafeTensorsFile.Entries(Path.Combine(dir, PeftFormat.WeightsFileName)).Select(e => e.Name);
}
