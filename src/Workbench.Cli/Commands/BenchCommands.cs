using System.CommandLine;

namespace Workbench.Cli.Commands;

/// <summary><c>wb bench ...</c>: benchmarks that print JSON.</summary>
public static class BenchCommands
{
    public static Command Build()
    {
        var bench = new Command("bench", "Benchmarks (JSON output with --json)");
        bench.Subcommands.Add(BenchMatmulCommand.Build());
        bench.Subcommands.Add(BenchTrainStepCommand.Build());
        bench.Subcommands.Add(BenchQuantCommand.Build());
        bench.Subcommands.Add(BenchGenerateCommand.Build());
        return bench;
    }
}
