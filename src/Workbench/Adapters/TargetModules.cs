using System.Text.RegularExpressions;

namespace Workbench.Adapters;

/// <summary>
/// Which modules an adapter wraps, as PEFT's <c>target_modules</c>: a list of names (a module matches when its full
/// dotted name equals one, or ends with "." + one), a regular expression that must match the whole name, or
/// "all-linear" (every linear layer except the output head).
/// </summary>
public sealed record TargetModules
{
    public const string AllLinearName = "all-linear";

    /// <summary>Names or suffixes; null when <see cref="Pattern"/> is used.</summary>
    public IReadOnlyList<string>? Names { get; }
    /// <summary>A full-match regular expression, or "all-linear"; null when <see cref="Names"/> is used.</summary>
    public string? Pattern { get; }

    private TargetModules(IReadOnlyList<string>? names, string? pattern) { Names = names; Pattern = pattern; }

    public static TargetModules Of(params IEnumerable<string> names)
    {
        var list = names.Distinct().ToList();
        return list.Count > 0 ? new(list, null) : throw new ArgumentException("target_modules: at least one name is needed");
    }

    /// <summary>A string as PEFT reads it: "all-linear" or a regular expression.</summary>
    public static TargetModules FromString(string pattern) => new(null, pattern);

    public static TargetModules AllLinear { get; } = new(null, AllLinearName);

    /// <summary>A run config's list: empty → null (PEFT's defaults for the model type), ["all-linear"], or names.</summary>
    public static TargetModules? FromList(IReadOnlyList<string> names) => names switch
    {
        [] => null,
        [AllLinearName] => AllLinear,
        _ => Of(names),
    };

    /// <summary>No module (an IA3 adapter without feed-forward modules: feedforward_modules []).</summary>
    public static TargetModules None { get; } = new([], null);

    public bool IsAllLinear => Pattern == AllLinearName;

    public bool Matches(string path)
    {
        if (Names is not null) return Names.Any(n => path == n || path.EndsWith("." + n, StringComparison.Ordinal));
        if (IsAllLinear) throw new InvalidOperationException("target_modules 'all-linear' must be resolved against a model first");
        return Regex.IsMatch(path, $"^(?:{Pattern})$");
    }

    public override string ToString() => Names is not null ? "[" + string.Join(", ", Names) + "]" : $"'{Pattern}'";
}

/// <summary>A linear layer an adapter may wrap: its dotted path and dimensions.</summary>
public sealed record LinearSite(string Path, int InFeatures, int OutFeatures, bool HasBias)
{
    /// <summary>The last component of the path ("q_proj").</summary>
    public string Name => Path[(Path.LastIndexOf('.') + 1)..];
}

/// <summary>Choosing the layers a config targets, the same way for a live model and for a shape-only layout.</summary>
public static class TargetResolver
{
    /// <summary>Output heads that "all-linear" leaves out (Llama/Gemma lm_head, GPT-NeoX embed_out).</summary>
    public static readonly string[] OutputHeads = ["lm_head", "embed_out"];

    /// <summary>
    /// PEFT's resolution of <paramref name="targets"/>: null takes the defaults for the model type; "all-linear"
    /// becomes the names of every linear layer except the output head. The result is what adapter_config.json stores.
    /// </summary>
    public static TargetModules Resolve(TargetModules? targets, IReadOnlyList<LinearSite> sites, string modelType,
        IReadOnlyDictionary<string, string[]> defaults, string method)
    {
        if (targets is null)
        {
            return defaults.TryGetValue(modelType, out var names) ? TargetModules.Of(names)
                : throw new ArgumentException($"{method}: no default target_modules for model_type '{modelType}'; " +
                                              $"give them explicitly (defaults exist for {string.Join(", ", defaults.Keys)})");
        }
        if (!targets.IsAllLinear) return targets;
        return TargetModules.Of(sites.Where(s => !OutputHeads.Contains(s.Path)).Select(s => s.Name));
    }

    /// <summary>The sites a resolved target list matches; none is an error naming the targets.</summary>
    public static List<LinearSite> Select(IReadOnlyList<LinearSite> sites, TargetModules resolved, string method)
    {
        var chosen = sites.Where(s => resolved.Matches(s.Path)).ToList();
        if (chosen.Count == 0)
            throw new ArgumentException($"{method}: target_modules {resolved} match no linear layer " +
                                        $"(layers are named like {string.Join(", ", sites.Select(s => s.Name).Distinct().Take(8))})");
        return chosen;
    }
}
