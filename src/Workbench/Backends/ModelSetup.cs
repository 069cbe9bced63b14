using Workbench.Adapters;
using Workbench.Engine;
using Workbench.Quantization;

namespace Workbench.Backends;

/// <summary>How a backend stores a frozen base: its dtype (null: as the file has it) or quantised as bitsandbytes does.</summary>
public abstract record ModelSetup
{
    public DType? BaseDType { get; init; }
    /// <summary>Null: unquantised. The output head and embeddings stay in <see cref="BaseDType"/>.</summary>
    public QuantOptions? Quantization { get; init; }
    /// <summary>Where the backend computes: "cpu", or "cuda" / "cuda:N" for a backend that has a GPU path.</summary>
    public string Device { get; init; } = CpuDevice;

    public const string CpuDevice = "cpu";
}

/// <summary>A model for scoring: optionally a PEFT adapter folder applied over the base (frozen, inference mode).</summary>
public sealed record InferenceSetup : ModelSetup
{
    public string? AdapterDirectory { get; init; }
}

/// <summary>
/// A model for training: an adapter injected over the frozen base, or (<see cref="Adapter"/> null) every weight trained
/// in fp32. <see cref="Seed"/> draws the adapter's initial values and its dropout masks; AdamW decays every weight
/// but biases and norms by <see cref="WeightDecay"/>.
/// </summary>
public sealed record TrainingSetup : ModelSetup
{
    public AdapterConfig? Adapter { get; init; }
    public long Seed { get; init; }
    public double WeightDecay { get; init; }
}
