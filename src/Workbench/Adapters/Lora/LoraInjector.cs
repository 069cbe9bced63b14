using Workbench.Engine.Nn;

namespace Workbench.Adapters.Lora;

/// <summary>Wraps every linear layer whose name ends with a target in a <see cref="LoraLinear"/>.</summary>
public static class LoraInjector
{
    /// <returns>The dotted paths of the wrapped layers.</returns>
    public static List<string> Inject(Module model, IReadOnlyCollection<string> targets, int r, float alpha,
        bool useRsLora = false, string adapterName = "default", int seed = 0)
    {
        var rng = new Random(seed);
        var matches = model.NamedModules()
            .Where(m => m.Module is LinearLayer && targets.Contains(m.Path[(m.Path.LastIndexOf('.') + 1)..]))
            .ToList();
        if (matches.Count == 0)
            throw new ArgumentException($"no linear layer matches target modules [{string.Join(", ", targets)}]");
        foreach (var (path, module) in matches)
        {
            var lora = module as LoraLinear ?? new LoraLinear((LinearLayer)module);
            lora.AddAdapter(adapterName, r, alpha, useRsLora, rng);
            if (!ReferenceEquals(lora, module)) model.ReplaceModule(path, lora);
        }
        return matches.Select(m => m.Path).ToList();
    }
}
