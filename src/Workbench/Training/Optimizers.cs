using Workbench.Engine;
using Workbench.Engine.Optim;
using Workbench.Quantization;

namespace Workbench.Training;

/// <summary>
/// Optimisers by the names transformers' TrainingArguments.optim uses. The paged variants are aliases of the
/// unpaged ones: paging moves GPU optimiser state to CPU RAM under memory pressure, and on this CPU engine the
/// states are in CPU RAM from the start (see <see cref="AdamW8bit"/> and docs/paged-optimizers.md).
/// </summary>
public static class Optimizers
{
    public static readonly string[] Names = ["adamw_torch", "adamw", "paged_adamw_32bit", "adamw_8bit", "adamw_bnb_8bit", "paged_adamw_8bit"];

    public static IOptimizer Create(string name, IReadOnlyList<Tensor> parameters, float lr, float weightDecay = 0f) => name switch
    {
        "adamw_torch" or "adamw" or "paged_adamw_32bit" => new AdamW(parameters, lr, weightDecay: weightDecay),
        "adamw_8bit" or "adamw_bnb_8bit" or "paged_adamw_8bit" => new AdamW8bit(parameters, lr, weightDecay: weightDecay),
        _ => throw new ArgumentException($"unknown optimizer '{name}'; known: {string.Join(", ", Names)}"),
    };
}
