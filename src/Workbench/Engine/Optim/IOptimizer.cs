namespace Workbench.Engine.Optim;

/// <summary>What a training loop needs from an optimiser.</summary>
public interface IOptimizer
{
    float Lr { get; set; }
    int StepCount { get; set; }
    IReadOnlyList<Tensor> Parameters { get; }
    /// <summary>Bytes held by the optimiser's state (moments and their quantisation constants).</summary>
    long StateBytes { get; }
    void Step();
    void ZeroGrad();
}

public static class OptimizerParameters
{
    /// <summary>The parameters an optimiser may update in place: contiguous fp32 tensors (copied into an array).</summary>
    public static Tensor[] Validate(IReadOnlyList<Tensor> parameters, string optimizer)
    {
        foreach (var p in parameters)
        {
            p.RequireF32(optimizer);
            if (!p.IsContiguous) throw new ShapeException(optimizer, $"parameter {p} must be contiguous");
        }
        return [.. parameters];
    }
}
