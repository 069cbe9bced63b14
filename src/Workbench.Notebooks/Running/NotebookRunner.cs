using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;
using Workbench.Notebooks.Ipynb;
using Workbench.Reports;

namespace Workbench.Notebooks.Running;

/// <summary>What to run and how.</summary>
public sealed record NotebookRunOptions
{
    /// <summary>Values for the parameters cell (<see cref="NotebookParameters"/>).</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    /// <summary>Run the remaining cells after a failure instead of stopping.</summary>
    public bool ContinueOnError { get; init; }

    public Action<CellStart>? OnCellStarting { get; init; }

    public Action<CellResult>? OnCellFinished { get; init; }
}

/// <summary>A code cell about to run. <see cref="CellNumber"/> counts all cells from 1, as editors show them.</summary>
public sealed record CellStart(int CellNumber, int ExecutionCount, string FirstLine);

/// <summary>How a code cell ended; <see cref="Error"/> is "Name: message" when it failed.</summary>
public sealed record CellResult(int CellNumber, int ExecutionCount, TimeSpan Elapsed, string? Error)
{
    public bool Failed => Error is not null;
}

/// <summary>The executed notebook (outputs filled in) and each code cell's result.</summary>
public sealed record NotebookRunResult(Notebook Executed, IReadOnlyList<CellResult> Cells)
{
    public CellResult? FirstFailure => Cells.FirstOrDefault(c => c.Failed);

    public bool Succeeded => FirstFailure is null;
}

/// <summary>
/// Runs a notebook's C# cells in order on Roslyn scripting, as the .NET Interactive C# kernel does: the first
/// cell with <c>CSharpScript.RunAsync</c>, each next one with <c>ContinueWithAsync</c>, so variables, methods and
/// types carry over. Per cell it records stdout/stderr (Console.SetOut), <c>display(...)</c> calls
/// (display_data), the value of a final expression (execute_result) and errors (error), in Jupyter's format.
/// Console redirection is process-wide, so runs in one process take turns.
/// </summary>
public static class NotebookRunner
{
    private static readonly SemaphoreSlim ConsoleTurn = new(1, 1);

    /// <summary>The namespaces every cell starts with (the .NET Interactive C# kernel's defaults).</summary>
    public static readonly string[] DefaultImports =
        ["System", "System.Collections.Generic", "System.Linq", "System.Text", "System.Threading.Tasks", "System.Net.Http"];

    /// <summary>Assemblies a notebook gets without <c>#r</c>, and that a <c>#r</c> of the same name maps to.</summary>
    public static readonly Assembly[] HostAssemblies = [typeof(Table).Assembly, typeof(NotebookRunner).Assembly];

    /// <summary>Runs a copy of <paramref name="source"/>; <c>#r</c> paths are relative to <paramref name="notebookDirectory"/>.</summary>
    public static async Task<NotebookRunResult> RunAsync(Notebook source, string notebookDirectory, NotebookRunOptions? options = null)
    {
        options ??= new NotebookRunOptions();
        var notebook = source.Clone();
        PolyglotFormat.Apply(notebook.Metadata);
        foreach (var cell in notebook.Cells.Where(c => c.IsCode))
        {
            cell.Outputs.Clear();
            cell.ExecutionCount = null;
        }
        var injected = NotebookParameters.Inject(notebook, options.Parameters);

        var references = new NotebookReferences(notebookDirectory, HostAssemblies);
        var scriptOptions = ScriptOptions.Default
            .WithReferences(references.DefaultReferences())
            .WithImports(DefaultImports)
            .WithMetadataResolver(references)
            .WithSourceResolver(new SourceFileResolver([], Path.GetFullPath(notebookDirectory)))
            .WithEmitDebugInformation(true);

        var results = new List<CellResult>();
        var globals = new NotebookGlobals();
        ScriptState<object>? state = null;
        int executionCount = 0, cellNumber = 0;
        await ConsoleTurn.WaitAsync();
        try
        {
            foreach (var cell in notebook.Cells)
            {
                if (cell != injected) cellNumber++;
                if (!cell.IsCode) continue;
                if (results.Any(r => r.Failed) && !options.ContinueOnError) break;

                executionCount++;
                cell.ExecutionCount = executionCount;
                string code = cell.Source;
                options.OnCellStarting?.Invoke(new CellStart(cellNumber, executionCount, FirstLine(code)));
                var clock = Stopwatch.StartNew();
                var collector = new CellOutputCollector();
                string? error;
                (state, error) = await RunCellAsync(cell, code, state, scriptOptions, globals, collector, executionCount);
                collector.Flush();
                foreach (var output in collector.Outputs) cell.Outputs.Add(output);
                var result = new CellResult(cellNumber, executionCount, clock.Elapsed, error);
                results.Add(result);
                options.OnCellFinished?.Invoke(result);
            }
        }
        finally
        {
            ConsoleTurn.Release();
        }
        return new NotebookRunResult(notebook, results);
    }

    private static async Task<(ScriptState<object>? State, string? Error)> RunCellAsync(
        NotebookCell cell, string code, ScriptState<object>? state, ScriptOptions options, NotebookGlobals globals,
        CellOutputCollector collector, int executionCount)
    {
        if (cell.KernelName is { } kernel && kernel != PolyglotFormat.KernelName)
            return (state, Fail(collector, "NotSupportedException", $"kernel '{kernel}' is not supported; the Workbench runner runs C# cells only", []));

        var (stdout, stderr) = (Console.Out, Console.Error);
        Console.SetOut(collector.Stdout);
        Console.SetError(collector.Stderr);
        globals.Current = collector;
        try
        {
            NotebookReferences.RejectNuGet(code);
            code = WithoutKernelMagic(code);
            state = state is null
                ? await CSharpScript.Create(code, options, typeof(NotebookGlobals)).RunAsync(globals, catchException: _ => true)
                : await state.ContinueWithAsync(code, options, catchException: _ => true);
            if (state.Exception is { } thrown)
                return (state, Fail(collector, thrown.GetType().Name, thrown.Message, thrown.ToString().Split('\n')));
            if (state.ReturnValue is { } value)
                collector.Add(CellOutputs.ExecuteResult(executionCount, DisplayFormatter.Format(value)));
            return (state, null);
        }
        catch (CompilationErrorException e)
        {
            var diagnostics = e.Diagnostics.Select(d => d.ToString()).ToArray();
            return (state, Fail(collector, "CompilationError", string.Join("\n", diagnostics), diagnostics));
        }
        catch (NotSupportedException e)
        {
            return (state, Fail(collector, nameof(NotSupportedException), e.Message, [e.Message]));
        }
        finally
        {
            globals.Current = null;
            Console.Out.Flush();
            Console.SetOut(stdout);
            Console.SetError(stderr);
        }
    }

    private static string Fail(CellOutputCollector collector, string name, string message, IEnumerable<string> traceback)
    {
        collector.Add(CellOutputs.Error(name, message, traceback.Select(l => l.TrimEnd('\r'))));
        return $"{name}: {message}";
    }

    /// <summary>
    /// Blanks Polyglot's <c>#!csharp</c> / <c>#!c#</c> cell-kernel lines (line numbers stay); other magic commands
    /// (<c>#!time</c>, <c>#!fsharp</c>, ...) are .NET Interactive features this runner does not have.
    /// </summary>
    private static string WithoutKernelMagic(string code)
    {
        var lines = code.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (!line.StartsWith("#!")) continue;
            if (line is not ("#!csharp" or "#!c#" or "#!cs"))
                throw new NotSupportedException($"line {i + 1}: magic command '{line}' is not supported by the Workbench runner");
            lines[i] = "";
        }
        return string.Join('\n', lines);
    }

    private static string FirstLine(string code) =>
        code.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "";
}
