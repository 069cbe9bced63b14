using TorchSharp;
using Workbench.Quantization;
using Workbench.Torch.Layers;
using static TorchSharp.torch;

namespace Workbench.Torch.Quantization;

/// <summary>
/// Puts the frozen linear layers of any TorchSharp module into 4 bits, as transformers' load_in_4bit does: each
/// <c>nn.Linear</c> (TorchSharp's or ours) whose name is not in <see cref="QuantOptions.SkipModules"/> is quantised on
/// the host by <see cref="QuantizedTensor.Quantize"/> and replaced, one at a time, by a <see cref="TorchLinear4bit"/>
/// holding bitsandbytes' bytes, frozen (an adapter's own tensors are not linear modules, so they are left alone).
/// </summary>
public static class TorchQuantizer
{
    /// <summary>Returns the paths replaced.</summary>
    public static List<string> Quantize(nn.Module model, QuantOptions options)
    {
        if (options.Type == QuantType.Int8) throw new NotSupportedException("the torch backend has 4-bit layers (nf4, fp4, int4), not 8-bit ones");
        var chosen = model.named_modules()
            .Where(m => !options.SkipModules.Contains(m.name[(m.name.LastIndexOf('.') + 1)..]))
            .Select(m => (m.name, Weight: Weight(m.module), Bias: m.module.get_parameter("bias")))
            .Where(m => m.Weight is not null)
            .ToList();
        foreach (var (path, weight, bias) in chosen)
        {
            var q = QuantizedTensor.Quantize(TorchTensors.ToHost(weight!), options.Type, options.BlockSize, options.DoubleQuant);
            model.Replace(path, new TorchLinear4bit(q, bias?.detach(), weight!.device));
        }
        return chosen.Select(c => c.name).ToList();
    }

    /// <summary>The [out, in] weight of a plain linear layer; null for anything else.</summary>
    private static Tensor? Weight(nn.Module module) => module switch
    {
        FrozenLinear l => l.Weight,
        TorchSharp.Modules.Linear l => l.weight,
        _ => null,
    };
}
