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
