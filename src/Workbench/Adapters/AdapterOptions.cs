namespace Workbench.Adapters;

/// <summary>
/// The adapter knobs a run config or a command line gives, whatever the method: each method takes what applies to it
/// (IA3 has no rank) and PEFT's defaults for the rest.
/// </summary>
public sealed record AdapterOptions
{
    /// <summary>Null: PEFT's defaults for the model type.</summary>
    public TargetModules? TargetModules { get; init; }
    public int R { get; init; } = 8;
    public float Alpha { get; init; } = 8;
    public float Dropout { get; init; }
    public string? BaseModelNameOrPath { get; init; }
}
