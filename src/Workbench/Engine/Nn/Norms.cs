namespace Workbench.Engine.Nn;

/// <summary>RMSNorm over the last axis: x / √(mean(x²) + ε) ⊙ w, or ⊙ (1 + w) for Gemma.</summary>
public sealed class RmsNorm : Layer
{
    public Tensor Weight => Parameter("weight");
    public float Eps { get; }
    public bool UnitOffset { get; }

    public RmsNorm(Tensor weight, float eps, bool unitOffset = false)
    {
        AddParameter("weight", weight);
        Eps = eps;
        UnitOffset = unitOffset;
    }

    public override Tensor Forward(Tensor x) => Ops.RmsNorm(x, Weight, Eps, UnitOffset);
}

/// <summary>LayerNorm over the last axis with weight and bias (GPT-NeoX).</summary>
public sealed class LayerNorm : Layer
{
    public Tensor Weight => Parameter("weight");
    public Tensor Bias => Parameter("bias");
    public float Eps { get; }

    public LayerNorm(Tensor weight, Tensor bias, float eps)
    {
        AddParameter("weight", weight);
        AddParameter("bias", bias);
        Eps = eps;
    }

    public override Tensor Forward(Tensor x) => Ops.LayerNorm(x, Weight, Bias, Eps);
}
