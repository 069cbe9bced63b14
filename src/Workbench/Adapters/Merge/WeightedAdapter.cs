using Workbench.Adapters.Lora;
using Workbench.Engine;

namespace Workbench.Adapters.Merge;

/// <summary>
/// PEFT's add_weighted_adapter for LoRA: a new adapter built from weighted existing ones, layer by layer.
///   linear: A = Σ √(wᵢsᵢ)·Aᵢ,  B = Σ √(wᵢsᵢ)·Bᵢ   (equal ranks; the new rank is that rank)
///   cat:    A = [w₁s₁A₁; w₂s₂A₂; …] (rows),  B = [B₁ B₂ …] (columns), so B·A = Σ wᵢsᵢBᵢAᵢ exactly (rank Σrᵢ)
/// The new adapter has r = lora_alpha = its rank (scaling 1, or √r with rsLoRA, as PEFT's config copy gives), starts
/// frozen and inactive. "svd" and the TIES/DARE variants are not implemented.
/// </summary>
public static class WeightedAdapter
{
    public static void Add(PeftModel peft, IReadOnlyList<string> adapters, IReadOnlyList<float> weights, string newName, string combinationType)
    {
        if (adapters.Count == 0 || adapters.Count != weights.Count)
            throw new ArgumentException($"add_weighted_adapter: {adapters.Count} adapters and {weights.Count} weights");
        var configs = adapters.Select(a => peft.Config(a) as LoraConfig
                                           ?? throw new ArgumentException($"add_weighted_adapter: '{a}' is not a LoRA adapter")).ToList();
        if (configs.Any(c => c.RankPattern.Count > 0 || c.AlphaPattern.Count > 0))
            throw new NotSupportedException("add_weighted_adapter: adapters with rank_pattern/alpha_pattern are not supported");
        if (adapters.Count == 1) combinationType = "linear";
        int newRank = combinationType switch
        {
            "linear" when configs.Select(c => c.R).Distinct().Count() == 1 => configs[0].R,
            "linear" => throw new ArgumentException($"add_weighted_adapter: linear needs equal ranks, got {string.Join(", ", configs.Select(c => c.R))}"),
            "cat" => configs.Sum(c => c.R),
            _ => throw new NotSupportedException($"add_weighted_adapter: combination_type '{combinationType}' is not implemented (linear, cat)"),
        };
        var names = configs.SelectMany(c => c.TargetModules?.Names ?? throw new NotSupportedException("add_weighted_adapter: regex target_modules are not supported")).Distinct();
        var config = configs[0] with { R = newRank, LoraAlpha = newRank, TargetModules = TargetModules.Of(names) };

        using var _ = GradMode.NoGrad();
        foreach (var (_, layer) in peft.Layers())
        {
            if (layer is not LoraLinear lora) continue;
            var present = adapters.Select((a, i) => (Name: a, Weight: weights[i])).Where(p => lora.AdapterNames.Contains(p.Name)).ToList();
            if (present.Count == 0) continue;
            var (a, b) = combinationType == "cat" ? Cat(lora, present, newRank) : Linear(lora, present);
            lora.SetAdapter(newName, a, b, config.ScalingFor(""), config.LoraDropout);
        }
        peft.Register(newName, config);
    }

    private static (Tensor A, Tensor B) Linear(LoraLinear layer, List<(string Name, float Weight)> adapters)
    {
        Tensor? a = null, b = null;
        foreach (var (name, weight) in adapters)
        {
            float ws = weight * layer.Scaling(name);
            if (ws < 0) throw new ArgumentException($"add_weighted_adapter: linear needs w·s ≥ 0 (its square root is taken); '{name}' has {ws}");
            float root = MathF.Sqrt(ws);
            // A += √(w s)·Aᵢ, B += √(w s)·Bᵢ
            var ai = Ops.Scale(layer.LoraA[name].Weight, root);
            var bi = Ops.Scale(layer.LoraB[name].Weight, root);
            a = a is null ? ai : Ops.Add(a, ai);
            b = b is null ? bi : Ops.Add(b, bi);
        }
        return (a!, b!);
    }

    private static (Tensor A, Tensor B) Cat(LoraLinear layer, List<(string Name, float Weight)> adapters, int rank)
    {
        var a = Tensor.Zeros(rank, layer.InFeatures);                        // (Σr, in), zero rows for absent adapters
        var b = Tensor.Zeros(layer.OutFeatures, rank);                       // (out, Σr)
        int row = 0;
        foreach (var (name, weight) in adapters)
        {
            int r = layer.Rank(name);
            // rows row…row+r of A = w·s·Aᵢ; the same columns of B = Bᵢ
            Ops.CopyInto(Ops.Scale(layer.LoraA[name].Weight, weight * layer.Scaling(name)), a.Narrow(0, row, r));
            Ops.CopyInto(layer.LoraB[name].Weight, b.Narrow(1, row, r));
            row += r;
        }
        return (a, b);
    }
}
