using System.CommandLine;
using System.CommandLine.Parsing;
using Workbench.Cli.Commands;
using Workbench.Data;
using Workbench.Data.FewShot;
using Workbench.Training;

namespace Workbench.Cli;

public static class Program
{
    /// <summary>Print the stack trace of an unexpected error (a bug), not only its message.</summary>
    public static readonly Option<bool> Verbose = new("--verbose") { Description = "on an unexpected error, print its stack trace", Recursive = true };

    /// <summary>
    /// Runs a command line. The one error path of every command: a parse error or a user error (bad file, flag, config
    /// or data: <see cref="IsUserError"/>) prints one line, <c>wb &lt;command&gt;: &lt;problem&gt;</c>, and exits 2; anything else
    /// is a bug: a short message and exit 1, the stack trace only with --verbose.
    /// </summary>
    public static int Main(string[] args)
    {
        var parse = Build().Parse(args);
        CliOutput.Command = CommandPath(parse.CommandResult);
        if (parse.Errors.Count > 0)
            return CliOutput.Fail(string.Join("; ", parse.Errors.Select(Describe).Distinct()) + $" (see {CliOutput.Help})");
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (IsUserError(e))
        {
            return CliOutput.Fail(e.Message);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"wb {CliOutput.Command}: internal error: {e.GetType().Name}: {CliOutput.OneLine(e.Message)}" +
                                    (parse.GetValue(Verbose) ? "\n" + e : " (run with --verbose for the stack trace)"));
            return 1;
        }
    }

    /// <summary>A parse error with the flag it is about in front ("--scoring: Argument 'vibes' not recognized…").</summary>
    private static string Describe(ParseError error)
    {
        var message = error.Message.TrimEnd('.');
        var option = error.SymbolResult switch
        {
            OptionResult o => o.Option,
            ArgumentResult { Parent: OptionResult o } => o.Option,
            _ => null,
        };
        return option is null || message.Contains(option.Name, StringComparison.Ordinal) ? message : $"{option.Name}: {message}";
    }

    /// <summary>Errors in what the user gave (files, flags, configs, data), as opposed to bugs.</summary>
    public static bool IsUserError(Exception e) => e is FormatException or IOException or UnauthorizedAccessException or ArgumentException
        or NotSupportedException or InvalidDataException or KeyNotFoundException or TrainingConfigException or DataFormatException
        or TaskDefinitionException or Demo.DemoException;

    /// <summary>The words of the command that ran ("eval fewshot"), without the program's name.</summary>
    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is CommandResult c && c.Parent is not null; r = c.Parent) names.Insert(0, c.Command.Name);
        return string.Join(' ', names);
    }

    /// <summary>The whole command tree; each command lives in its own file under Commands/.</summary>
    public static RootCommand Build()
    {
        Torch.TorchBackend.Register();   // idempotent; libtorch itself loads only when a command uses it
        var root = new RootCommand("Workbench: parameter-efficient fine-tuning of language models in C#") { Verbose };
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
        root.Subcommands.Add(ExportCommand.Build());
        root.Subcommands.Add(ConvertCommand.Build());
        root.Subcommands.Add(ExportRecipeCommand.Build());
        root.Subcommands.Add(PrefsCommands.Build());
        return root;
    }
}
