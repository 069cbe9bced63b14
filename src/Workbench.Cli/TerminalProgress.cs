using Spectre.Console;

namespace Workbench.Cli;

/// <summary>
/// Progress of long work on stderr: Spectre bars with the time left on a terminal, plain lines otherwise (logs, CI),
/// so that stdout keeps only results.
/// </summary>
public static class TerminalProgress
{
    /// <summary>True when stderr is a terminal that can redraw bars.</summary>
    public static bool Interactive => !Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="body"/> under a live progress display on stderr; its bars stay on screen afterwards.</summary>
    public static void Bars(Action<IAnsiConsole, ProgressContext> body)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        console.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx => body(console, ctx));
    }

    /// <summary>One loop reporting (done, total): a bar on a terminal, else a line "label: done/total" at every tenth.</summary>
    public static T Run<T>(string label, Func<Action<int, int>, T> work)
    {
        if (!Interactive)
            return work((done, total) =>
            {
                if (done == total || done % Math.Max(1, total / 10) == 0) Console.Error.WriteLine($"{label}: {done}/{total}");
            });
        T result = default!;
        Bars((_, ctx) =>
        {
            ProgressTask? bar = null;
            result = work((done, total) =>
            {
                bar ??= ctx.AddTask(Markup.Escape(label), maxValue: total);
                bar.Value = done;
            });
        });
        return result;
    }
}
