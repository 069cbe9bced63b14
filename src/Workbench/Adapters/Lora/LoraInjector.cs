namespace Workbench.Adapters.Lora;

/// <summary>Injects a LoRA adapter into the layers a <see cref="LoraConfig"/> targets (PEFT's LoraModel).</summary>
public static class LoraInjector
{
    /// <returns>The config as stored with the adapter: target modules resolved to names, fan_in_fan_out false.</returns>
    internal static LoraConfig Inject(PeftModel peft, string adapterName, LoraConfig config)
    {
        config.Validate();
        // Our Linear stores W as [out, in]; PEFT resets fan_in_fan_out to false for nn.Linear likewise.
        config = config with { FanInFanOut = false };
        var sites = peft.Sites();
        var targets = TargetResolver.Resolve(config.TargetModules, sites, peft.ModelType, LoraConfig.Defaults, "LoRA");
        foreach (var site in TargetResolver.Select(sites, targets, "LoRA"))
        {
            var layer = peft.Wrap(site.Path, (b, id) => new LoraLinear(b, peft.Dropout, id));
            layer.AddAdapter(adapterName, config.RankFor(site.Path), config.ScalingFor(site.Path), config.LoraDropout,
                config.InitLoraWeights, peft.RngFor(adapterName, site.Path));
        }
        foreach (var (_, bias) in TrainableBiases(peft, config.Bias)) bias.RequiresGrad = true;
        return config with { TargetModules = targets };
    }

    /// <summary>
    /// The base biases a bias mode trains and saves: "all" every parameter named like "bias" (as PEFT selects
    /// them), "lora_only" the biases of LoRA-wrapped layers, "none" nothing.
    /// </summary>
    public static IEnumerable<(string Key, Engine.Tensor Tensor)> TrainableBiases(PeftModel peft, string mode) => mode switch
    {
        "all" => peft.Model.NamedParameters().Where(p => p.Name.Contains("bias")),
        "lora_only" => peft.Layers().Where(l => l.Layer is LoraLinear)
            .SelectMany(l => l.Layer.BaseLayer.NamedParameters(l.Path + ".base_layer").Where(p => p.Name.EndsWith(".bias"))),
        _ => [],
    };
}
