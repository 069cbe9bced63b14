using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Formats;
using Workbench.Models;

namespace Workbench.Adapters.Lora;

/// <summary>LoRA as the library knows it: W x + s·B(A(dropout(x))), B [out, r] and A [r, in] per wrapped layer.</summary>
public sealed class LoraMethod : AdapterMethodDefinition
{
    public override AdapterMethod Method => AdapterMethod.Lora;
    public override string PeftType => "LORA";
    public override Type ConfigType => typeof(LoraConfig);
    public override IReadOnlyDictionary<string, string[]> DefaultTargets => LoraConfig.Defaults;

    public override AdapterConfig Create(AdapterOptions o) => new LoraConfig
    {
        BaseModelNameOrPath = o.BaseModelNameOrPath, TargetModules = o.TargetModules, R = o.R, LoraAlpha = o.Alpha, LoraDropout = o.Dropout,
    };

    internal override AdapterConfig Inject(PeftModel peft, string name, AdapterConfig config) => LoraInjector.Inject(peft, name, (LoraConfig)config);

    public override (long Added, long Unfrozen) CountParameters(AdapterConfig config, ParameterLayout layout, IReadOnlyList<LinearSite> chosen)
    {
        var lora = (LoraConfig)config;
        lora.Validate();
        // A [r, in] + B [out, r] per layer
        long added = chosen.Sum(s => (long)lora.RankFor(s.Path) * (s.InFeatures + s.OutFeatures));
        long unfrozen = lora.Bias switch
        {
            "all" => layout.Parameters.Where(p => p.Name.Contains("bias")).Sum(p => p.Numel),
            "lora_only" => chosen.Where(s => s.HasBias).Sum(s => (long)s.OutFeatures),
            _ => 0,
        };
        return (added, unfrozen);
    }

    internal override IEnumerable<string> TrainedBaseParameters(PeftModel peft, AdapterConfig config) =>
        LoraInjector.TrainableBiases(peft, ((LoraConfig)config).Bias).Select(b => b.Key);

    internal override void WriteFields(AdapterConfig config, IDictionary<string, JsonNode?> fields)
    {
        var c = (LoraConfig)config;
        fields["r"] = c.R;
        fields["lora_alpha"] = PeftFormat.Number(c.LoraAlpha);
        fields["lora_dropout"] = PeftFormat.Number(c.LoraDropout, forceFloat: true);
        fields["bias"] = c.Bias;
        fields["init_lora_weights"] = c.InitLoraWeights switch
        {
            LoraInit.Gaussian => JsonValue.Create("gaussian"),
            LoraInit.Random => JsonValue.Create(false),
            _ => JsonValue.Create(true),
        };
        fields["use_rslora"] = c.UseRsLora;
        // PEFT's fields for features we do not implement, at the values that mean "off"
        fields["use_dora"] = false;
        fields["use_qalora"] = false;
        fields["qalora_group_size"] = 16;
        fields["lora_bias"] = false;
        fields["rank_pattern"] = new JsonObject(c.RankPattern.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        fields["alpha_pattern"] = new JsonObject(c.AlphaPattern.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)PeftFormat.Number(kv.Value))));
        fields["layers_pattern"] = null;
        fields["layers_to_transform"] = null;
        fields["layer_replication"] = null;
        fields["loftq_config"] = new JsonObject();
        fields["megatron_config"] = null;
        fields["megatron_core"] = "megatron.core";
        fields["corda_config"] = null;
        fields["eva_config"] = null;
        fields["target_parameters"] = null;
        fields["trainable_token_indices"] = null;
    }

    internal override AdapterConfig ReadFields(JsonFields f)
    {
        if (f.Bool("use_dora", false)) throw f.Error("use_dora", "DoRA is not supported");
        if (f.Bool("lora_bias", false)) throw f.Error("lora_bias", "a bias on lora_B is not supported");
        f.RequireNull("layers_to_transform");
        f.RequireNull("layer_replication");
        var init = f.Node("init_lora_weights") switch
        {
            null => LoraInit.Default,
            JsonValue v when v.GetValueKind() == JsonValueKind.True => LoraInit.Default,
            JsonValue v when v.GetValueKind() == JsonValueKind.False => LoraInit.Random,
            JsonValue v when v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == "gaussian" => LoraInit.Gaussian,
            var other => throw f.Error("init_lora_weights", $"{other.ToJsonString()} is not supported (true, false, \"gaussian\")"),
        };
        var config = new LoraConfig
        {
            R = f.Int("r", 8),
            LoraAlpha = (float)f.Double("lora_alpha", 8),
            LoraDropout = (float)f.Double("lora_dropout", 0),
            Bias = f.String("bias") ?? "none",
            InitLoraWeights = init,
            UseRsLora = f.Bool("use_rslora", false),
            RankPattern = f.Map("rank_pattern", n => n.GetValue<int>()),
            AlphaPattern = f.Map("alpha_pattern", n => (float)n.GetValue<double>()),
        };
        try { config.Validate(); }
        catch (ArgumentException e) { throw new AdapterFormatException($"{f.File}: {e.Message}"); }
        return config;
    }
}
