using System.Runtime.InteropServices;

namespace Workbench.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM — what <c>timeout</c>, job schedulers and <c>docker stop</c> send — as one request to
/// stop: long work ends after its current step and saves what it has; a second signal ends the process at once.
/// <see cref="ExitCode"/> is the shell's convention for the signal (128 + its number: 130, 143).
/// </summary>
public sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource source = new();
    private readonly PosixSignalRegistration interrupt, terminate;
    private readonly string saying;

    /// <param name="saying">what stopping does, told on stderr ("stopping after this step and saving a checkpoint").</param>
    public StopSignals(string saying)
    {
        this.saying = saying;
        interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Stop(c, 130));
        terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Stop(c, 143));
    }

    public CancellationToken Token => source.Token;

    /// <summary>130 after SIGINT, 143 after SIGTERM; null while no signal came.</summary>
    public int? ExitCode { get; private set; }

    private void Stop(PosixSignalContext context, int exitCode)
    {
        if (source.IsCancellationRequested) return;   // the second signal: the default action ends the process
        context.Cancel = true;
        ExitCode = exitCode;
        source.Cancel();
        Console.Error.WriteLine($"wb: {saying} (send the signal again to stop at once)");
    }

    public void Dispose()
    {
        interrupt.Dispose();
        terminate.Dispose();
        source.Dispose();
    }
}
