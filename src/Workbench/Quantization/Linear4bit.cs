using Workbench.Engine;

namespace Workbench.Quantization;

/// <summary>
/// A frozen 4-bit linear layer, as bitsandbytes' Linear4bit: the weight [out, in] in NF4 or FP4 block-wise
/// (block 64 by default), usually with double-quantised absmax. QLoRA uses NF4 + double quantisation;
/// bitsandbytes' own default is FP4 with compress_statistics=True, kept here.
/// </summary>
public sealed class Linear4bit : QuantizedLinear
{
    public Linear4bit(QuantizedTensor weight, Tensor? bias = null) : base(weight, bias)
    {
        if (weight.Book.Bits != 4) throw new ArgumentException($"Linear4bit: weight is {weight.Type.Name()}, not a 4-bit type");
    }

    /// <summary>Quantises an fp32 weight [out, in].</summary>
    public static Linear4bit Quantize(Tensor weight, Tensor? bias = null, QuantType type = QuantType.Fp4, bool doubleQuant = true, int blockSize = 64)
        => new(QuantizedTensor.Quantize(weight, type, blockSize, doubleQuant), bias);

    /// <summary>Loads "prefix.weight*" (bitsandbytes state, see <see cref="BnbState"/>) and "prefix.bias" if present.</summary>
    public static Linear4bit FromTensors(IReadOnlyDictionary<string, Tensor> tensors, string prefix)
        => new(BnbState.FromTensors(tensors, prefix + ".weight"), tensors.GetValueOrDefault(prefix + ".bias"));

    /// <summary>The tensors transformers saves for a bitsandbytes Linear4bit named <paramref name="prefix"/>.</summary>
    public Dictionary<string, Tensor> ToTensors(string prefix)
    {
        var tensors = BnbState.ToTensors(Weight, prefix + ".weight");
        if (Bias is not null) tensors[prefix + ".bias"] = Bias.Clone();
        return tensors;
    }
}
