using Workbench.Models;

namespace Workbench.Adapters;

/// <summary>
/// Trainable and total parameters of a base model with one adapter, from the config alone (no weights allocated).
/// The numbers are PEFT's <c>print_trainable_parameters</c>: trainable = parameters with requires_grad (adapter
/// weights, modules_to_save copies, and base biases that bias="all"/"lora_only" unfreezes); total ("all params") =
/// every parameter of the PEFT model = base + the parameters the adapter adds (adapter weights and modules_to_save
/// copies; the originals stay too).
/// </summary>
public sealed record AdapterParameterCount(long Trainable, long Total, long Base, IReadOnlyList<string> TargetedLayers)
{
    public double Percent => 100.0 * Trainable / Total;

    public static AdapterParameterCount For(ModelConfig model, AdapterConfig adapter)
    {
        var method = AdapterMethods.Of(adapter);
        var layout = ParameterLayout.For(model);
        var sites = Sites(layout);
        var targets = TargetResolver.Resolve(adapter.TargetModules, sites, model.ModelType, method.DefaultTargets, adapter.PeftType);
        var chosen = TargetResolver.Select(sites, targets, adapter.PeftType);
        var (added, unfrozen) = method.CountParameters(adapter, layout, chosen);
        long copies = ModulesToSave(layout, adapter.ModulesToSave);
        long baseCount = layout.TotalParameters;
        return new(added + copies + unfrozen, baseCount + added + copies, baseCount, chosen.Select(s => s.Path).ToList());
    }

    /// <summary>Linear layers of a layout: modules with a 2-D weight, embeddings excepted (the output head included).</summary>
    public static IReadOnlyList<LinearSite> Sites(ParameterLayout layout)
    {
        var names = layout.Parameters.Select(p => p.Name).ToHashSet();
        return layout.Parameters
            .Where(p => p.Shape.Length == 2 && p.Group != ParameterGroup.Embeddings && p.Name.EndsWith(".weight"))
            .Select(p =>
            {
                var path = p.Name[..^".weight".Length];
                return new LinearSite(path, p.Shape[1], p.Shape[0], names.Contains(path + ".bias"));
            })
            .ToList();
    }

    /// <summary>Parameters under the modules that modules_to_save names (each counted once).</summary>
    private static long ModulesToSave(ParameterLayout layout, IReadOnlyList<string>? modules)
    {
        if (modules is not { Count: > 0 }) return 0;
        var match = TargetModules.Of(modules);
        var selected = layout.Parameters.Where(p => Prefixes(p.Name).Any(match.Matches)).ToList();
        if (selected.Count == 0) throw new ArgumentException($"modules_to_save {match} match no module of {layout.Config.ModelType}");
        return selected.Sum(p => p.Numel);
    }

    // "a.b.c.weight" → "a", "a.b", "a.b.c"
    private static IEnumerable<string> Prefixes(string name)
    {
        for (int i = name.IndexOf('.'); i >= 0; i = name.IndexOf('.', i + 1)) yield return name[..i];
    }
}
