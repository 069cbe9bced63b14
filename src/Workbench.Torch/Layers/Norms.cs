using static TorchSharp.torch;

namespace Workbench.Torch.Layers;

/// <summary>RMSNorm with weight [C]; Gemma's variant scales by (1 + w). Computed in float32 like transformers.</summary>
public sealed class TorchRmsNorm : TorchLayer
{
    private readonly double eps;
    private readonly bool unitOffset;

    public TorchRmsNorm(Tensor weight, double eps, bool unitOffset = false) : base("RMSNorm")
    {
        (this.eps, this.unitOffset) = (eps, unitOffset);
        register_parameter("weight", new Parameter(weight, requires_grad: false));
    }

    /// <summary>y = x / √(mean(x²) + ε) · w   (· (1 + w) with unit offset); x (..., C)</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var w = Param("weight").to(ScalarType.Float32);
        var y = x * rsqrt(x.pow(2).mean([-1L], keepdim: true) + eps) * (unitOffset ? w + 1 : w);
        return y.MoveToOuterDisposeScope();
    }
}

/// <summary>LayerNorm with weight and bias [C] (GPT-NeoX): y = (x − mean) / √(var + ε) · w + b.</summary>
public sealed class TorchLayerNorm : TorchLayer
{
    private readonly double eps;

    public TorchLayerNorm(Tensor weight, Tensor bias, double eps) : base("LayerNorm")
    {
        this.eps = eps;
        register_parameter("weight", new Parameter(weight, requires_grad: false));
        register_parameter("bias", new Parameter(bias, requires_grad: false));
    }

    public override Tensor forward(Tensor x) => nn.functional.layer_norm(x, [x.shape[^1]],
        Param("weight").to(ScalarType.Float32), Param("bias").to(ScalarType.Float32), eps);
}

/// <summary>Token embedding, weight [V, C] in the checkpoint's dtype: ids (B, T) → float32 (B, T, C).</summary>
public sealed class TorchEmbedding : TorchLayer
{
    public TorchEmbedding(Tensor weight) : base("Embedding") =>
        register_parameter("weight", new Parameter(weight, requires_grad: false));

    public Tensor Weight => Param("weight");

    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var rows = Weight.index_select(0, ids.reshape(-1)).to(ScalarType.Float32);
        return rows.reshape([.. ids.shape, Weight.shape[1]]).MoveToOuterDisposeScope();
    }
}
