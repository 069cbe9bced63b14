using Workbench.Cli;

namespace Workbench.Tests.Support;

/// <summary>Runs wb in-process (Program.Main: its one error path included) with stdout and stderr captured (tests using it join the "Console" collection).</summary>
public static class WbCli
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try { return (Program.Main(args), stdout.ToString(), stderr.ToString()); }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }
}
