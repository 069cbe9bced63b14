using Workbench.Formats;

namespace Workbench.Adapters;

/// <summary>
/// How a run adapts a base model, for the library, run configs, the CLI and the memory planner alike: an adapter
/// method, or none (every weight trains). Spelled in configs and flags as <see cref="EnumSpelling"/> writes it
/// (none, lora, ia3). QLoRA is LoRA over a quantised base: the quantisation is its own setting.
/// </summary>
public enum AdapterMethod { Lora, Ia3, None }

/// <summary>The method names commands take: an <see cref="AdapterMethod"/>'s spelling, "full" for none, "qlora" for LoRA over a 4-bit base.</summary>
public static class RunMethod
{
    public static readonly string[] Names = ["qlora", "lora", "ia3", "full"];

    public static (AdapterMethod Method, bool Quantized) Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "qlora" => (AdapterMethod.Lora, true),
        "full" => (AdapterMethod.None, false),
        var name => (EnumSpelling.Parse<AdapterMethod>(name, "the method"), false),
    };

    public static string Name(AdapterMethod method, bool quantized) =>
        quantized && method == AdapterMethod.Lora ? "qlora" : method == AdapterMethod.None ? "full" : EnumSpelling.Name(method);
}
