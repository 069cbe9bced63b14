using Workbench.Engine;
using Workbench.Engine.Nn;
using Workbench.Engine.Optim;

namespace Workbench.Backends.Managed;

/// <summary>
/// AdamW over the trainable parameters in transformers Trainer's two groups: weight decay for everything except
/// biases and normalisation weights (get_decay_parameter_names), none for those. Betas (0.9, 0.999) and ε 1e-8 are
/// transformers' defaults. Moments are exposed by parameter name for checkpoints.
/// </summary>
public sealed class TrainingOptimizer
{
    private readonly AdamW decay, noDecay;
    private readonly Dictionary<string, (AdamW Group, int Index)> slots = [];

    public IReadOnlyList<(string Name, Tensor Tensor)> Parameters { get; }

    public TrainingOptimizer(Module model, double weightDecay)
    {
        var noDecayNames = model.NamedModules()
            .Where(m => m.Module is RmsNorm or LayerNorm)
            .SelectMany(m => m.Module.NamedParameters(m.Path).Select(p => p.Name))
            .ToHashSet();
        Parameters = model.NamedParameters().Where(p => p.Tensor.RequiresGrad).ToList();
        if (Parameters.Count == 0) throw new InvalidOperationException("nothing to train: the model has no parameter that requires grad");
        var decayed = Parameters.Where(p => !noDecayNames.Contains(p.Name) && !p.Name.EndsWith(".bias")).ToList();
        var plain = Parameters.Except(decayed).ToList();
        decay = new AdamW(decayed.Select(p => p.Tensor).ToList(), weightDecay: (float)weightDecay);
        noDecay = new AdamW(plain.Select(p => p.Tensor).ToList(), weightDecay: 0f);
        for (int i = 0; i < decayed.Count; i++) slots[decayed[i].Name] = (decay, i);
        for (int i = 0; i < plain.Count; i++) slots[plain[i].Name] = (noDecay, i);
    }

    public IEnumerable<Tensor> Tensors => Parameters.Select(p => p.Tensor);

    public int StepCount
    {
        get => decay.StepCount;
        set => decay.StepCount = noDecay.StepCount = value;
    }

    public void ZeroGrad() { decay.ZeroGrad(); noDecay.ZeroGrad(); }

    public void Step(double lr)
    {
        decay.Lr = noDecay.Lr = (float)lr;
        decay.Step();
        noDecay.Step();
    }

    /// <summary>exp_avg.{name} and exp_avg_sq.{name} for every trainable parameter (live tensors, not copies).</summary>
    public Dictionary<string, Tensor> Moments()
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var (name, (group, i)) in slots)
        {
            result["exp_avg." + name] = group.ExpAvg[i];
            result["exp_avg_sq." + name] = group.ExpAvgSq[i];
        }
        return result;
    }
}
