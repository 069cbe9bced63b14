using TorchSharp;
using Workbench.Adapters.Lora;
using Workbench.Torch.Layers;
using static TorchSharp.torch;

namespace Workbench.Torch.Adapters;

/// <summary>
/// LoRA on libtorch, laid out as PEFT does: <c>base_layer</c>, <c>lora_A.{adapter}.weight</c> [r, in],
/// <c>lora_B.{adapter}.weight</c> [out, r].
///   y = base(x) + s·(dropout(x)·Aᵀ)·Bᵀ,  s = α/r (or α/√r with rsLoRA)
/// Backward is libtorch's autograd. Initial values are drawn on the host exactly as the managed
/// <see cref="LoraLinear"/> draws them, so both backends start from the same adapter.
/// </summary>
public sealed class TorchLoraLinear : TorchAdapterLayer
{
    private readonly Dictionary<string, (AdapterTensor A, AdapterTensor B, float Scaling, float Dropout)> adapters = [];

    public TorchLoraLinear(nn.Module<Tensor, Tensor> baseLayer, TorchAdapterSettings settings, int siteId) : base(baseLayer, settings, siteId, "LoraLinear")
    {
        Add("lora_A", new TorchContainer());
        Add("lora_B", new TorchContainer());
    }

    public override IReadOnlyList<string> AdapterNames => [.. adapters.Keys];

    public float Scaling(string adapter) => adapters[adapter].Scaling;

    /// <summary>Adds a trainable adapter drawn as <paramref name="init"/> says from <paramref name="rng"/>, and activates it.</summary>
    public void AddAdapter(string name, int r, float scaling, float dropout, LoraInit init, Random rng)
    {
        var (a, b) = LoraLinear.InitialWeights(r, InFeatures, OutFeatures, init, rng);
        var entry = (AdapterTensor.Create(a, Settings.Device), AdapterTensor.Create(b, Settings.Device), scaling, dropout);
        adapters[name] = entry;
        Holder("lora_A", name).Set("weight", entry.Item1.Parameter);
        Holder("lora_B", name).Set("weight", entry.Item2.Parameter);
        ActiveAdapters.Add(name);
    }

    private ParameterHolder Holder(string side, string adapter)
    {
        var container = this.Child<TorchContainer>(side);
        if (container.named_children().Any(c => c.name == adapter)) return container.Child<ParameterHolder>(adapter);
        return container.Add(adapter, new ParameterHolder());
    }

    public override IEnumerable<(string Key, AdapterTensor Tensor)> AdapterTensors(string adapter)
    {
        var (a, b, _, _) = adapters[adapter];
        yield return ("lora_A.weight", a);
        yield return ("lora_B.weight", b);
    }

    protected override Tensor AdaptedForward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = BaseLayer.call(x);
        for (int k = 0; k < ActiveAdapters.Count; k++)
        {
            if (!adapters.TryGetValue(ActiveAdapters[k], out var lora)) continue;
            // y += s · (x̃ Aᵀ) Bᵀ
            var input = Dropout(x, lora.Dropout, k);
            y = y + nn.functional.linear(nn.functional.linear(input, lora.A.Parameter), lora.B.Parameter) * lora.Scaling;
        }
        return y.MoveToOuterDisposeScope();
    }
}
