using Workbench.Engine;
using Workbench.Engine.Nn;

namespace Workbench.Adapters.Lora;

/// <summary>
/// A frozen base layer plus low-rank updates, laid out as PEFT does so state-dict keys match:
/// <c>base_layer.weight</c>, <c>lora_A.{adapter}.weight</c> [r, in], <c>lora_B.{adapter}.weight</c> [out, r].
///   y = base(x) + s·(dropout(x)·Aᵀ)·Bᵀ,  s = α/r (or α/√r with rsLoRA)
/// Backward comes from the ops: dA = s·Bᵀ·dyᵀ·x̃, dB = s·dyᵀ·(x̃·Aᵀ), dx adds s·dy·B·A (through the dropout mask).
/// Works on any linear base, fused ones included (GPT-NeoX query_key_value: one A, one B over all three outputs).
/// </summary>
public sealed class LoraLinear : AdapterLayer
{
    private readonly Dictionary<string, (float Scaling, float Dropout)> settings = [];

    public ModuleDict<Linear> LoraA => Child<ModuleDict<Linear>>("lora_A");
    public ModuleDict<Linear> LoraB => Child<ModuleDict<Linear>>("lora_B");
    public override IReadOnlyList<string> AdapterNames => LoraA.Keys;

    public LoraLinear(LinearLayer baseLayer, AdapterDropout dropout, int siteId) : base(baseLayer, dropout, siteId)
    {
        AddModule("lora_A", new ModuleDict<Linear>());
        AddModule("lora_B", new ModuleDict<Linear>());
    }

    public float Scaling(string adapter) => settings[adapter].Scaling;
    public float DropoutRate(string adapter) => settings[adapter].Dropout;
    public int Rank(string adapter) => LoraA[adapter].OutFeatures;

    /// <summary>A [r, in] and B [out, r] as <paramref name="init"/> draws them from <paramref name="rng"/> (every backend starts from these).</summary>
    public static (Tensor A, Tensor B) InitialWeights(int r, int inFeatures, int outFeatures, LoraInit init, Random rng)
    {
        if (r <= 0) throw new ArgumentOutOfRangeException(nameof(r), r, "LoRA rank must be positive");
        // kaiming_uniform_(a=√5) on [fan_out, fan_in] is U(−1/√fan_in, 1/√fan_in).
        float boundA = 1f / MathF.Sqrt(inFeatures);
        var a = init == LoraInit.Gaussian ? Tensor.Randn(rng, 1f / r, r, inFeatures) : Tensor.Uniform(rng, -boundA, boundA, r, inFeatures);
        var b = init == LoraInit.Random ? Tensor.Uniform(rng, -1f / MathF.Sqrt(r), 1f / MathF.Sqrt(r), outFeatures, r) : Tensor.Zeros(outFeatures, r);
        return (a, b);
    }

    /// <summary>Adds a trainable adapter initialised as <paramref name="init"/> says (PEFT's update_layer) and activates it.</summary>
    public void AddAdapter(string name, int r, float scaling, float dropout, LoraInit init, Random rng)
    {
        var (a, b) = InitialWeights(r, InFeatures, OutFeatures, init, rng);
        SetAdapter(name, a, b, scaling, dropout);
        a.RequiresGrad = b.RequiresGrad = true;
        ActiveAdapters.Add(name);
    }

    /// <summary>Adds (or replaces the weights of) an adapter from given A [r, in] and B [out, r]; not activated.</summary>
    public void SetAdapter(string name, Tensor a, Tensor b, float scaling, float dropout)
    {
        if (a.Rank != 2 || b.Rank != 2 || a.Shape[1] != InFeatures || b.Shape[0] != OutFeatures || a.Shape[0] != b.Shape[1])
            throw new ShapeException("LoraLinear", $"adapter '{name}': A {Shape.Format(a.Shape)} and B {Shape.Format(b.Shape)} " +
                                                   $"do not fit [r, {InFeatures}] and [{OutFeatures}, r]");
        if (LoraA.Contains(name))
        {
            LoraA[name].SetParameter("weight", a);
            LoraB[name].SetParameter("weight", b);
        }
        else
        {
            LoraA.Add(name, new Linear(a));
            LoraB.Add(name, new Linear(b));
        }
        settings[name] = (scaling, dropout);
    }

    public override IEnumerable<(string Key, Tensor Tensor)> AdapterTensors(string adapter)
    {
        RequireAdapter(adapter, AdapterNames);
        yield return ("lora_A.weight", LoraA[adapter].Weight);
        yield return ("lora_B.weight", LoraB[adapter].Weight);
    }

    public override void LoadAdapterTensor(string adapter, string key, Tensor value)
    {
        RequireAdapter(adapter, AdapterNames);
        var target = key switch
        {
            "lora_A.weight" => LoraA[adapter],
            "lora_B.weight" => LoraB[adapter],
            _ => throw new KeyNotFoundException($"LoraLinear: no adapter tensor '{key}'"),
        };
        bool trainable = target.Weight.RequiresGrad;
        var copy = value.To(DType.F32).Clone();
        copy.RequiresGrad = trainable;
        target.SetParameter("weight", copy);
    }

    protected override Tensor AdaptedForward(Tensor x)
    {
        var y = BaseLayer.Forward(x);
        for (int k = 0; k < ActiveAdapters.Count; k++)
        {
            var name = ActiveAdapters[k];
            if (!LoraA.Contains(name)) continue;
            var (scaling, p) = settings[name];
            // x̃ = dropout(x) in training (mask seeded by seed, step, layer, adapter); x otherwise
            var input = Dropout.Training && p > 0
                ? Ops.Dropout(x, p, DropoutMask.Seed(Dropout.Seed, Dropout.Step, ((long)SiteId << 8) + k))
                : x;
            // y += s · (x̃ Aᵀ) Bᵀ
            y = Ops.Add(y, Ops.Scale(LoraB[name].Forward(LoraA[name].Forward(input)), scaling));
        }
        return y;
    }

    /// <summary>ΔW = s·B·A [out, in] (transposed to [in, out] for fan_in_fan_out bases).</summary>
    public Tensor DeltaWeight(string adapter) =>
        LoraMath.DeltaWeight(LoraA[adapter].Weight, LoraB[adapter].Weight, Scaling(adapter), fanInFanOut: false);

    public override void Merge(IEnumerable<string>? adapters = null)
    {
        var target = MergeTarget("LoRA merge");
        foreach (var name in (adapters ?? ActiveAdapters).ToList())
        {
            RequireAdapter(name, AdapterNames);
            if (MergedAdapters.Contains(name)) continue;
            // W ← W + s·B·A
            Store(target, "weight", Ops.Add(target.Weight, DeltaWeight(name)).Detach(), target.Weight.DType);
            MergedAdapters.Add(name);
        }
    }

    public override void Unmerge()
    {
        var target = MergeTarget("LoRA unmerge");
        while (MergedAdapters.Count > 0)
        {
            var name = MergedAdapters[^1];
            MergedAdapters.RemoveAt(MergedAdapters.Count - 1);
            // W ← W − s·B·A
            Store(target, "weight", Ops.Sub(target.Weight, DeltaWeight(name)).Detach(), target.Weight.DType);
        }
    }
}

/// <summary>The LoRA update as a dense matrix.</summary>
public static class LoraMath
{
    /// <summary>ΔW = s·B·A: A [r, in], B [out, r] → [out, in], or its transpose [in, out] when the base stores W that way.</summary>
    public static Tensor DeltaWeight(Tensor a, Tensor b, float scaling, bool fanInFanOut)
    {
        using var _ = GradMode.NoGrad();
        var delta = Ops.Scale(Ops.MatMul(b, a), scaling);                  // (out, in)
        return fanInFanOut ? delta.Transpose(0, 1).Contiguous() : delta;
    }
}
