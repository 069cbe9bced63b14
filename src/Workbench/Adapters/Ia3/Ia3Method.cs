using System.Text.Json.Nodes;
using Workbench.Formats;
using Workbench.Models;

namespace Workbench.Adapters.Ia3;

/// <summary>(IA)³ as the library knows it: learned vectors that scale a layer's output, or a feed-forward layer's input.</summary>
public sealed class Ia3Method : AdapterMethodDefinition
{
    public override AdapterMethod Method => AdapterMethod.Ia3;
    public override string PeftType => "IA3";
    public override Type ConfigType => typeof(Ia3Config);
    public override IReadOnlyDictionary<string, string[]> DefaultTargets => Ia3Config.Defaults;

    public override AdapterConfig Create(AdapterOptions o) => new Ia3Config { BaseModelNameOrPath = o.BaseModelNameOrPath, TargetModules = o.TargetModules };

    internal override AdapterConfig Inject(PeftModel peft, string name, AdapterConfig config) => Ia3Injector.Inject(peft, name, (Ia3Config)config);

    public override (long Added, long Unfrozen) CountParameters(AdapterConfig config, ParameterLayout layout, IReadOnlyList<LinearSite> chosen)
    {
        var ia3 = (Ia3Config)config;
        var modelType = layout.Config.ModelType;
        var ff = ia3.FeedforwardModules ?? (Ia3Config.FeedforwardDefaults.TryGetValue(modelType, out var names) ? TargetModules.Of(names) : null);
        // (1, in) per feed-forward layer, (out, 1) per other layer
        return (chosen.Sum(s => ff is not null && ff.Matches(s.Path) ? (long)s.InFeatures : s.OutFeatures), 0);
    }

    internal override void WriteFields(AdapterConfig config, IDictionary<string, JsonNode?> fields)
    {
        var c = (Ia3Config)config;
        fields["feedforward_modules"] = PeftFormat.Targets(c.FeedforwardModules);
        fields["init_ia3_weights"] = c.InitIa3Weights;
    }

    internal override AdapterConfig ReadFields(JsonFields f) => new Ia3Config
    {
        FeedforwardModules = PeftFormat.ReadTargets(f, "feedforward_modules"),
        InitIa3Weights = f.Bool("init_ia3_weights", true),
    };
}
