namespace Workbench.Engine.Nn;

/// <summary>y = x·Wᵀ + b with W [out, in] (torch.nn.Linear's layout). W may be F32 or frozen BF16/F16.</summary>
public sealed class Linear : LinearLayer
{
    public override int InFeatures { get; }
    public override int OutFeatures { get; }
    public Tensor Weight => Parameter("weight");
    public Tensor? Bias => HasBias ? Parameter("bias") : null;
    public bool HasBias { get; }

    public Linear(Tensor weight, Tensor? bias = null)
    {
        if (weight.Rank != 2) throw new ShapeException("Linear", $"weight must be [out, in], got {Shape.Format(weight.Shape)}");
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != weight.Shape[0]))
            throw new ShapeException("Linear", $"bias {Shape.Format(bias.Shape)} does not match weight {Shape.Format(weight.Shape)}");
        OutFeatures = weight.Shape[0];
        InFeatures = weight.Shape[1];
        AddParameter("weight", weight);
        HasBias = bias is not null;
        if (bias is not null) AddParameter("bias", bias);
    }

    public override Tensor Forward(Tensor x) => Ops.Linear(x, Weight, Bias);
}
