using static TorchSharp.torch;

namespace Workbench.Torch.Layers;

/// <summary>A layer y = x·Wᵀ + b that adapters may wrap: plain, 4-bit, or already wrapped.</summary>
public interface ITorchLinear
{
    int InFeatures { get; }
    int OutFeatures { get; }
    bool HasBias { get; }
    /// <summary>W [out, in] as float32 (dequantised for a 4-bit layer), for merging and tests.</summary>
    Tensor DenseWeight();
}

/// <summary>
/// A frozen linear layer with Hugging Face's parameter names (<c>weight</c> [out, in], <c>bias</c> [out]) kept in the
/// checkpoint's dtype; computed in the input's dtype (float32): y = x·Wᵀ + b.
/// </summary>
public sealed class FrozenLinear : TorchLayer, ITorchLinear
{
    public FrozenLinear(Tensor weight, Tensor? bias) : base("Linear")
    {
        register_parameter("weight", new Parameter(weight, requires_grad: false));
        if (bias is not null) register_parameter("bias", new Parameter(bias, requires_grad: false));
    }

    public int InFeatures => (int)Param("weight").shape[1];
    public int OutFeatures => (int)Param("weight").shape[0];
    public bool HasBias => OptionalParam("bias") is not null;
    public Tensor Weight => Param("weight");
    public Tensor? Bias => OptionalParam("bias");

    public Tensor DenseWeight() => Param("weight").to(ScalarType.Float32);

    /// <summary>x (..., in) → (..., out); a weight stored in another dtype is widened again in backward rather than kept.</summary>
    public override Tensor forward(Tensor x)
    {
        var w = Param("weight");
        if (w.dtype == x.dtype) return nn.functional.linear(x, w, OptionalParam("bias"));
        using var scope = NewDisposeScope();
        var dtype = x.dtype;                                              // x itself is gone by backward
        var y = FrozenWeightLinear.Apply((start, count) => w.narrow(0, start, count).to(dtype), w.shape[0], FrozenWeightLinear.RowsPerBlock(w.shape[1]), x);
        return (OptionalParam("bias") is { } b ? y + b.to(x.dtype) : y).MoveToOuterDisposeScope();
    }
}
