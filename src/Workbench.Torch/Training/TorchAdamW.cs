using TorchSharp;
using Workbench.Engine.Optim;
using Workbench.Torch.Adapters;
using static TorchSharp.torch;
using HostTensor = Workbench.Engine.Tensor;

namespace Workbench.Torch.Training;

/// <summary>
/// AdamW over named trainable tensors in transformers Trainer's two groups (no weight decay for biases and norm
/// weights), with the managed <see cref="AdamW"/>'s update and scalars (<see cref="AdamWKernel.Hyper"/>) as in-place
/// tensor ops on the device:
///   p ← p·(1 − lr·wd);  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  p ← p − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε)
/// Moments live like the weights (<see cref="AdapterTensor"/>: on the CPU the checkpoint's host tensor is their memory).
/// </summary>
public sealed class TorchAdamW
{
    private readonly List<Slot> slots;

    public float Beta1 { get; } = 0.9f;
    public float Beta2 { get; } = 0.999f;
    public float Eps { get; } = 1e-8f;
    public int StepCount { get; set; }

    public TorchAdamW(IReadOnlyList<(string Name, AdapterTensor Tensor)> parameters, double weightDecay)
    {
        if (parameters.Count == 0) throw new InvalidOperationException("nothing to train: the model has no parameter that requires grad");
        slots = parameters.Select(p => new Slot(p.Name, p.Tensor,
            Moment(p.Tensor), Moment(p.Tensor), Decays(p.Name) ? weightDecay : 0)).ToList();
    }

    /// <summary>transformers' get_decay_parameter_names: biases and normalisation weights are not decayed.</summary>
    private static bool Decays(string name) => !name.EndsWith(".bias") && !name.Contains("norm");

    private static AdapterTensor Moment(AdapterTensor like) =>
        AdapterTensor.Create(HostTensor.Zeros((int[])like.Host.Shape.Clone()), like.Parameter.device, requiresGrad: false);

    public void Step(double lr)
    {
        StepCount++;
        using var noGrad = no_grad();
        foreach (var s in slots)
        {
            var p = s.Tensor.Parameter;
            if (p.grad is not { } g) continue;
            using var scope = NewDisposeScope();
            var h = AdamWKernel.Hyper.At(lr, s.WeightDecay, Beta1, Beta2, Eps, StepCount);
            Tensor m = s.ExpAvg.Parameter, v = s.ExpAvgSq.Parameter;
            p.mul_(h.Decay);
            m.mul_(h.Beta1).add_(g, alpha: 1 - h.Beta1);
            v.mul_(h.Beta2).addcmul_(g, g, value: 1 - h.Beta2);
            p.addcdiv_(m, v.sqrt().div_(h.Bias2Sqrt).add_(h.Eps), value: -h.StepSize);
        }
    }

    /// <summary>exp_avg.{name} and exp_avg_sq.{name} for every trainable tensor.</summary>
    public IEnumerable<(string Name, AdapterTensor Tensor)> Moments() =>
        slots.SelectMany(s => new[] { ("exp_avg." + s.Name, s.ExpAvg), ("exp_avg_sq." + s.Name, s.ExpAvgSq) });

    private sealed record Slot(string Name, AdapterTensor Tensor, AdapterTensor ExpAvg, AdapterTensor ExpAvgSq, double WeightDecay);
}
