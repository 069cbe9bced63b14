namespace Workbench.Adapters.Ia3;

/// <summary>Injects an (IA)³ adapter into the layers an <see cref="Ia3Config"/> targets (PEFT's IA3Model).</summary>
public static class Ia3Injector
{
    /// <returns>The config as stored with the adapter: target and feed-forward modules resolved to names.</returns>
    internal static Ia3Config Inject(PeftModel peft, string adapterName, Ia3Config config)
    {
        config = config with { FanInFanOut = false };
        var sites = peft.Sites();
        var targets = TargetResolver.Resolve(config.TargetModules, sites, peft.ModelType, Ia3Config.Defaults, "IA3");
        var feedforward = Feedforward(config, targets, peft.ModelType);
        foreach (var site in TargetResolver.Select(sites, targets, "IA3"))
        {
            bool isFeedforward = feedforward.Matches(site.Path);
            var layer = peft.Wrap(site.Path, (b, id) => new Ia3Linear(b, isFeedforward, peft.Dropout, id));
            if (layer.IsFeedforward != isFeedforward)
                throw new ArgumentException($"IA3: '{site.Path}' is {(layer.IsFeedforward ? "" : "not ")}feed-forward for an earlier adapter but not for '{adapterName}'");
            layer.AddAdapter(adapterName, config.InitIa3Weights, peft.RngFor(adapterName, site.Path));
        }
        return config with { TargetModules = targets, FeedforwardModules = feedforward };
    }

    /// <summary>
    /// feedforward_modules: given (as names, a subset of the target names), or the model type's defaults (PEFT's
    /// _prepare_adapter_config fills them in whenever they are missing). Defaults are kept only where they are
    /// targets too: PEFT would save e.g. targets [q_proj, v_proj] with feed-forward [down_proj], a config its own
    /// subset check then refuses to load.
    /// </summary>
    public static TargetModules Feedforward(Ia3Config config, TargetModules targets, string modelType)
    {
        if (config.FeedforwardModules is not { } ff)
        {
            if (!Ia3Config.FeedforwardDefaults.TryGetValue(modelType, out var names))
                throw new ArgumentException($"IA3: no default feedforward_modules for model_type '{modelType}'; give them explicitly");
            var kept = targets.Names is { } given ? names.Intersect(given).ToList() : [.. names];
            return kept.Count > 0 ? TargetModules.Of(kept) : TargetModules.None;
        }
        if (ff.Names is { } ffNames && targets.Names is { } targetNames && ffNames.Except(targetNames).Any())
            throw new ArgumentException($"IA3: feedforward_modules {ff} must be a subset of target_modules {targets}");
        return ff;
    }
}
