namespace Workbench.Engine.Nn;

/// <summary>Token embedding table [vocab, dim]; may be frozen BF16/F16.</summary>
public sealed class Embedding : Module
{
    public Tensor Weight => Parameter("weight");

    public Embedding(Tensor weight)
    {
        if (weight.Rank != 2) throw new ShapeException("Embedding", $"weight must be [vocab, dim], got {Shape.Format(weight.Shape)}");
        AddParameter("weight", weight);
    }

    /// <summary>ids [batch, seq] → [batch, seq, dim].</summary>
    public Tensor Forward(int[] ids, int batch, int seq) => Ops.Embedding(Weight, ids, batch, seq);
}
