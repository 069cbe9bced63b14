using Workbench.Adapters.Ia3;
using Workbench.Adapters.Lora;

namespace Workbench.Adapters;

/// <summary>The adapter methods the library knows: adding one is its folder and one line here.</summary>
public static class AdapterMethods
{
    public static IReadOnlyList<AdapterMethodDefinition> All { get; } = [new LoraMethod(), new Ia3Method()];

    /// <summary>The definition of <paramref name="method"/>; null for <see cref="AdapterMethod.None"/> (full fine-tuning).</summary>
    public static AdapterMethodDefinition? Get(AdapterMethod method) => method == AdapterMethod.None ? null
        : All.FirstOrDefault(d => d.Method == method) ?? throw new NotSupportedException($"adapter method {method} has no definition");

    /// <summary>The definition whose config type <paramref name="config"/> is.</summary>
    public static AdapterMethodDefinition Of(AdapterConfig config) =>
        All.FirstOrDefault(d => d.ConfigType == config.GetType()) ?? throw new NotSupportedException($"no adapter method for {config.GetType().Name}");

    /// <summary>The definition of a PEFT peft_type, or null.</summary>
    public static AdapterMethodDefinition? ForPeftType(string peftType) => All.FirstOrDefault(d => d.PeftType == peftType);
}
