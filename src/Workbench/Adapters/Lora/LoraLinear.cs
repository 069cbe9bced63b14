using Workbench.Engine;
using Workbench.Engine.Nn;

namespace Workbench.Adapters.Lora;

/// <summary>
/// A frozen base layer plus low-rank updates, laid out as PEFT does so state-dict keys match:
/// <c>base_layer.weight</c>, <c>lora_A.{adapter}.weight</c> [r, in], <c>lora_B.{adapter}.weight</c> [out, r].
///   y = base(x) + s·(x·Aᵀ)·Bᵀ,  s = α/r (or α/√r with rsLoRA)
/// Backward comes from the ops: dA = s·Bᵀ·dyᵀ·x, dB = s·dyᵀ·(x·Aᵀ), dx adds s·dy·B·A.
/// </summary>
public sealed class LoraLinear : LinearLayer
{
    private readonly Dictionary<string, float> scaling = [];

    public LinearLayer BaseLayer => Child<LinearLayer>("base_layer");
    public override int InFeatures => BaseLayer.InFeatures;
    public override int OutFeatures => BaseLayer.OutFeatures;
    public ModuleDict<Linear> LoraA => Child<ModuleDict<Linear>>("lora_A");
    public ModuleDict<Linear> LoraB => Child<ModuleDict<Linear>>("lora_B");

    /// <summary>Adapters applied in Forward; empty disables them all.</summary>
    public List<string> ActiveAdapters { get; } = [];

    public LoraLinear(LinearLayer baseLayer)
    {
        AddModule("base_layer", baseLayer);
        AddModule("lora_A", new ModuleDict<Linear>());
        AddModule("lora_B", new ModuleDict<Linear>());
    }

    public float Scaling(string adapter) => scaling[adapter];

    /// <summary>
    /// Adds an adapter with PEFT's default initialisation: A ~ kaiming_uniform(a=√5), i.e. U(−1/√in, 1/√in),
    /// and B = 0, so the layer's output is unchanged until training moves B.
    /// </summary>
    public void AddAdapter(string name, int r, float alpha, bool useRsLora, Random rng)
    {
        float bound = 1f / MathF.Sqrt(InFeatures);
        var a = Tensor.Uniform(rng, -bound, bound, r, InFeatures);
        var b = Tensor.Zeros(OutFeatures, r);
        a.RequiresGrad = b.RequiresGrad = true;
        LoraA.Add(name, new Linear(a));
        LoraB.Add(name, new Linear(b));
        scaling[name] = useRsLora ? alpha / MathF.Sqrt(r) : alpha / r;
        ActiveAdapters.Add(name);
    }

    public override Tensor Forward(Tensor x)
    {
        var y = BaseLayer.Forward(x);
        foreach (var name in ActiveAdapters)
        {
            // y += s · (x Aᵀ) Bᵀ
            var low = LoraA[name].Forward(x);
            y = Ops.Add(y, Ops.Scale(LoraB[name].Forward(low), scaling[name]));
        }
        return y;
    }
}
