using Workbench.Cli;

namespace Workbench.Tests.Support;

/// <summary>Runs the wb command tree in-process with stdout and stderr captured (tests using it join the "Console" collection).</summary>
public static class WbCli
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try { return (Program.Build().Parse(args).Invoke(), stdout.ToString(), stderr.ToString()); }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }
}
