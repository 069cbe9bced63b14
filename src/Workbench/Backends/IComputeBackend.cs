using Workbench.Models;

namespace Workbench.Backends;

/// <summary>
/// A compute backend: how a run gets its model. The managed engine is the first (<see cref="Managed.ManagedBackend"/>);
/// another backend implements this, <see cref="ICausalLM"/> and <see cref="ITrainableLM"/> in its own assembly and
/// registers with <see cref="ComputeBackends"/>, and nothing above the seam changes.
/// </summary>
public interface IComputeBackend
{
    /// <summary>The name runs select it by ("managed").</summary>
    string Name { get; }

    /// <summary>A model directory for scoring and generation, its base stored as <paramref name="setup"/> says, a saved adapter applied.</summary>
    ICausalLM Load(string modelDirectory, InferenceSetup setup);

    /// <summary>A model directory prepared for training as <paramref name="setup"/> says.</summary>
    ITrainableLM LoadForTraining(string modelDirectory, TrainingSetup setup);
}

/// <summary>
/// A backend that cannot run on this machine (its native library does not load, the device is absent); the message is
/// one line naming the cause and the way on.
/// </summary>
public sealed class BackendUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The backends a process knows, by name; the managed engine is always there.</summary>
public static class ComputeBackends
{
    private static readonly Dictionary<string, IComputeBackend> known = new(StringComparer.Ordinal)
    {
        [Managed.ManagedBackend.Instance.Name] = Managed.ManagedBackend.Instance,
    };

    public static IComputeBackend Default => Managed.ManagedBackend.Instance;

    public static IEnumerable<string> Names => known.Keys;

    public static void Register(IComputeBackend backend) => known[backend.Name] = backend;

    public static IComputeBackend Get(string name) => known.TryGetValue(name, out var b) ? b
        : throw new ArgumentException($"no compute backend '{name}' (have {string.Join(", ", known.Keys)})");
}
