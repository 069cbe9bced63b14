using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Workbench.Tests.Support;

/// <summary>
/// <c>wb</c> in a process of its own, as a user or a scheduler runs it: its output lines as they come, and signals
/// (SIGINT, SIGTERM, SIGKILL) sent to it. Lines are read on threads of their own and signals go straight to the kernel,
/// so a signal meant for "just after step 2" is not late by a busy thread pool or a spawned <c>kill</c>.
/// </summary>
public sealed partial class WbProcess : IDisposable
{
    private readonly Process process;
    private readonly BlockingCollection<string> lines = [];
    private readonly List<string> seen = [];

    /// <summary>The wb built beside these tests (same configuration), in src/Workbench.Cli.</summary>
    public static string Dll
    {
        get
        {
            string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;   // bin/<configuration>/net10.0/
            return Path.Combine(RepoPaths.Root, "src", "Workbench.Cli", "bin", configuration, "net10.0", "wb.dll");
        }
    }

    public WbProcess(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        start.ArgumentList.Add(Dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        process = Process.Start(start)!;
        readers = [ReadLines(process.StandardOutput), ReadLines(process.StandardError)];
    }

    private readonly Thread[] readers;

    private Thread ReadLines(StreamReader stream)
    {
        var reader = new Thread(() => { while (stream.ReadLine() is { } line) lines.Add(line); }) { IsBackground = true };
        reader.Start();
        return reader;
    }

    /// <summary>Waits for a line of stdout or stderr containing <paramref name="text"/>; false if the process ended first.</summary>
    public bool WaitFor(string text, int timeoutMs = 120_000)
    {
        var clock = Stopwatch.StartNew();
        while (clock.ElapsedMilliseconds < timeoutMs)
        {
            if (lines.TryTake(out var line, 100))
            {
                seen.Add(line);
                if (line.Contains(text, StringComparison.Ordinal)) return true;
            }
            else if (process.HasExited && lines.Count == 0) return false;
        }
        return false;
    }

    /// <summary>Sends SIGINT ("INT"), SIGTERM ("TERM") or SIGKILL ("KILL"); to a process that has already ended, nothing.</summary>
    public void Signal(string name)
    {
        int number = name switch { "INT" => 2, "KILL" => 9, "TERM" => 15, _ => throw new ArgumentException($"unknown signal {name}") };
        const int NoSuchProcess = 3;   // ESRCH: it ended before the signal
        if (Kill(process.Id, number) != 0 && Marshal.GetLastPInvokeError() != NoSuchProcess) throw new InvalidOperationException($"kill -{name} {process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>The exit code once the process ends, and everything it printed.</summary>
    public (int Code, string Output) Finish(int timeoutMs = 300_000)
    {
        if (!process.WaitForExit(timeoutMs)) { process.Kill(entireProcessTree: true); Assert.Fail($"wb did not finish in {timeoutMs / 1000} s"); }
        foreach (var reader in readers) reader.Join();
        while (lines.TryTake(out var line)) seen.Add(line);
        return (process.ExitCode, string.Join("\n", seen));
    }

    /// <summary>Runs to the end.</summary>
    public static (int Code, string Output) Run(string workingDirectory, params string[] args)
    {
        using var wb = new WbProcess(workingDirectory, args);
        return wb.Finish();
    }

    public void Dispose()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.Dispose();
    }
}
