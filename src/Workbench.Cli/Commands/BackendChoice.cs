using System.CommandLine;
using Workbench.Backends;

namespace Workbench.Cli.Commands;

/// <summary>A compute backend by name and the device it runs on, as <c>--backend managed|torch --device cpu|cuda[:N]</c> give them.</summary>
public sealed record BackendChoice(string Backend = "managed", string Device = ModelSetup.CpuDevice)
{
    public IComputeBackend Get() => ComputeBackends.Get(Backend);

    /// <summary>The two options, added to every command that runs a model.</summary>
    public sealed class Options
    {
        public Option<string> Backend { get; } = new("--backend")
        {
            Description = "Compute backend: managed (the C# engine) or torch (libtorch through TorchSharp)", DefaultValueFactory = _ => "managed",
        };
        public Option<string> Device { get; } = new("--device")
        {
            Description = "cpu, or cuda / cuda:N with --backend torch", DefaultValueFactory = _ => ModelSetup.CpuDevice,
        };

        public Options() => Backend.AcceptOnlyFromAmong([.. ComputeBackends.Names]);

        public void AddTo(Command command)
        {
            command.Options.Add(Backend);
            command.Options.Add(Device);
        }

        public BackendChoice From(ParseResult pr) => new(pr.GetValue(Backend)!, pr.GetValue(Device)!);
    }

    /// <summary>The error types a backend's load may throw that are the user's to fix (a missing libtorch included).</summary>
    public static bool IsUserError(Exception e) =>
        e is FormatException or IOException or NotSupportedException or ArgumentException or BackendUnavailableException;
}
