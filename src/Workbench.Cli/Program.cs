using System.CommandLine;
using Workbench.Cli.Commands;

namespace Workbench.Cli;

public static class Program
{
    public static int Main(string[] args) => Build().Parse(args).Invoke();

    /// <summary>The whole command tree; each command lives in its own file under Commands/.</summary>
    public static RootCommand Build()
    {
        Torch.TorchBackend.Register();   // idempotent; libtorch itself loads only when a command uses it
        var root = new RootCommand("Workbench: parameter-efficient fine-tuning of language models in C#");
        root.Subcommands.Add(BenchCommands.Build());
        root.Subcommands.Add(EvalCommand.Build());
        root.Subcommands.Add(InfoCommand.Build());
        root.Subcommands.Add(NotebookCommands.Build());
        root.Subcommands.Add(ReportCommand.Build());
        root.Subcommands.Add(TokenizeCommand.Build());
        root.Subcommands.Add(ParamsCommand.Build());
        root.Subcommands.Add(MergeCommand.Build());
        root.Subcommands.Add(GenerateCommand.Build());
        root.Subcommands.Add(PplCommand.Build());
        root.Subcommands.Add(TokenizerCommands.Build());
        root.Subcommands.Add(TrainCommand.Build());
        root.Subcommands.Add(PretrainCommand.Build());
        root.Subcommands.Add(DemoCommand.Build());
        root.Subcommands.Add(PlanCommand.Build());
        return root;
    }
}
