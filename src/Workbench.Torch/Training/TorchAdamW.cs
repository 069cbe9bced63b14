using TorchSharp;
using Workbench.Engine.Optim;
using Workbench.Quantization;
using Workbench.Torch.Adapters;
using static TorchSharp.torch;
using HostTensor = Workbench.Engine.Tensor;

namespace Workbench.Torch.Training;

/// <summary>
/// AdamW over named trainable tensors in transformers Trainer's two groups (no weight decay for biases and norm
/// weights), with the managed <see cref="AdamW"/>'s update and scalars (<see cref="AdamWKernel.Hyper"/>) as in-place
/// tensor ops on the device:
///   p ← p·(1 − lr·wd);  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  p ← p − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε)
/// Moments live like the weights (<see cref="AdapterTensor"/>: on the CPU the checkpoint's host tensor is their memory),
/// or, with 8-bit states, as <see cref="QuantizedMoment"/>s for tensors of at least <see cref="AdamW8bit.MinQuantizedSize"/>
/// elements (bitsandbytes' AdamW8bit; the update runs on the decoded block values, then they are encoded again).
/// </summary>
public sealed class TorchAdamW
{
    private readonly List<Slot> slots;

    public float Beta1 { get; } = 0.9f;
    public float Beta2 { get; } = 0.999f;
    public float Eps { get; } = 1e-8f;
    public int StepCount { get; set; }

    public TorchAdamW(IReadOnlyList<(string Name, AdapterTensor Tensor)> parameters, double weightDecay, bool eightBitStates = false)
    {
        if (parameters.Count == 0) throw new InvalidOperationException("nothing to train: the model has no parameter that requires grad");
        slots = parameters.Select(p =>
        {
            bool quantized = eightBitStates && p.Tensor.Host.Numel >= AdamW8bit.MinQuantizedSize;
            var device = p.Tensor.Parameter.device;
            return quantized
                ? new Slot(p.Name, p.Tensor, null, null, Decays(p.Name) ? weightDecay : 0,
                    new QuantizedMoment(p.Tensor.Host.Numel, DynamicMap.Signed, device), new QuantizedMoment(p.Tensor.Host.Numel, DynamicMap.Unsigned, device))
                : new Slot(p.Name, p.Tensor, Moment(p.Tensor), Moment(p.Tensor), Decays(p.Name) ? weightDecay : 0, null, null);
        }).ToList();
    }

    /// <summary>Bytes the moments take: 8 per element, or 2 + 8/256 for 8-bit states.</summary>
    public long StateBytes => slots.Sum(s => s.M8 is null ? 8 * s.Tensor.Host.Numel : s.M8.Bytes + s.V8!.Bytes);

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
            using var scope = NewDisposeScope();                          // the grad's wrapper included
            var p = s.Tensor.Parameter;
            if (p.grad is not { } g) continue;
            var h = AdamWKernel.Hyper.At(lr, s.WeightDecay, Beta1, Beta2, Eps, StepCount);
            var (m, v) = s.M8 is null ? ((Tensor)s.ExpAvg!.Parameter, (Tensor)s.ExpAvgSq!.Parameter) : (s.M8.Decode().view_as(p), s.V8!.Decode().view_as(p));
            p.mul_(h.Decay);
            m.mul_(h.Beta1).add_(g, alpha: 1 - h.Beta1);
            v.mul_(h.Beta2).addcmul_(g, g, value: 1 - h.Beta2);
            p.addcdiv_(m, v.sqrt().div_(h.Bias2Sqrt).add_(h.Eps), value: -h.StepSize);
            if (s.M8 is null) continue;
            s.M8.Encode(m);
            s.V8!.Encode(v);
        }
    }

    /// <summary>exp_avg.{name} and exp_avg_sq.{name} for every trainable tensor (the Trainer's plain AdamW: 8-bit states are not checkpointed).</summary>
    public IEnumerable<(string Name, AdapterTensor Tensor)> Moments() => slots.Where(s => s.ExpAvg is not null)
        .SelectMany(s => new[] { ("exp_avg." + s.Name, s.ExpAvg!), ("exp_avg_sq." + s.Name, s.ExpAvgSq!) });

    /// <summary>One trainable tensor's state: float32 moments, or (8-bit states, large tensors) their quantised forms in M8 and V8.</summary>
    private sealed record Slot(string Name, AdapterTensor Tensor, AdapterTensor? ExpAvg, AdapterTensor? ExpAvgSq, double WeightDecay,
        QuantizedMoment? M8, QuantizedMoment? V8);
}
