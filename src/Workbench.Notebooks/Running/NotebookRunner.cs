using System.Diagnostics;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Events;

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

/// <summary>
/// How a code cell ended: <see cref="Error"/> is "Name: message" when it failed; <see cref="Warnings"/> the
/// compiler's warnings; <see cref="Outputs"/> the nbformat output types it wrote, in order.
/// </summary>
public sealed record CellResult(int CellNumber, int ExecutionCount, TimeSpan Elapsed, string? Error,
    IReadOnlyList<string> Warnings, IReadOnlyList<string> Outputs)
{
    public bool Failed => Error is not null;
}

/// <summary>The executed notebook (outputs filled in) and each code cell's result.</summary>
public sealed record NotebookRunResult(InteractiveDocument Executed, IReadOnlyList<CellResult> Cells)
{
    public CellResult? FirstFailure => Cells.FirstOrDefault(c => c.Failed);

    public bool Succeeded => FirstFailure is null;
}

/// <summary>
/// Runs a notebook's code cells in order on a fresh <see cref="NotebookKernel"/>, from the notebook's own folder
/// as Polyglot Notebooks and Jupyter do, so relative paths in cells (<c>#r</c>, <c>#i</c>, data files) mean the
/// same in all three. Each cell's kernel events become outputs as the kernel's Jupyter front end writes them
/// (<see cref="CellOutputs"/>). The working folder is process-wide, so runs in one process take turns.
/// </summary>
public static class NotebookRunner
{
    private static readonly SemaphoreSlim Turn = new(1, 1);

    public static Task<NotebookRunResult> RunFileAsync(string path, NotebookRunOptions? options = null) =>
        RunAsync(NotebookFile.Load(path), Path.GetDirectoryName(Path.GetFullPath(path))!, options);

    /// <summary>Runs a copy of <paramref name="source"/> in <paramref name="notebookDirectory"/>.</summary>
    public static async Task<NotebookRunResult> RunAsync(InteractiveDocument source, string notebookDirectory, NotebookRunOptions? options = null)
    {
        options ??= new NotebookRunOptions();
        var notebook = NotebookFile.Clone(source);
        foreach (var cell in notebook.Elements.Where(NotebookFile.IsCode))
        {
            cell.Outputs.Clear();
            cell.ExecutionOrder = 0;
        }
        var injected = NotebookParameters.Inject(notebook, options.Parameters);

        var results = new List<CellResult>();
        await Turn.WaitAsync();
        string workingDirectory = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = Path.GetFullPath(notebookDirectory);
            using var kernel = NotebookKernel.Create();
            int executionCount = 0, cellNumber = 0;
            foreach (var cell in notebook.Elements)
            {
                if (cell != injected) cellNumber++;
                if (!NotebookFile.IsCode(cell)) continue;
                if (results.Any(r => r.Failed) && !options.ContinueOnError) break;

                cell.ExecutionOrder = ++executionCount;
                options.OnCellStarting?.Invoke(new CellStart(cellNumber, executionCount, FirstLine(cell.Contents)));
                var clock = Stopwatch.StartNew();
                var outputs = new CellOutputs(executionCount);
                var events = (await kernel.SendAsync(new SubmitCode(cell.Contents, cell.KernelName ?? NotebookKernel.CSharp))).Events;
                foreach (var e in events) outputs.Add(e);
                cell.Outputs.AddRange(outputs.Elements);
                var result = new CellResult(cellNumber, executionCount, clock.Elapsed, outputs.Error, outputs.Warnings, outputs.Types);
                results.Add(result);
                options.OnCellFinished?.Invoke(result);
            }
        }
        finally
        {
            Environment.CurrentDirectory = workingDirectory;
            Turn.Release();
        }
        return new NotebookRunResult(notebook, results);
    }

    private static string FirstLine(string code) =>
        code.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "";
}
