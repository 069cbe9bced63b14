using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;
using Microsoft.CodeAnalysis;

namespace Workbench.Notebooks.Running;

/// <summary>
/// One cell's kernel events as the outputs the kernel's Jupyter front end writes for them (dotnet/interactive,
/// Microsoft.DotNet.Interactive.Jupyter/ExecuteRequestHandler): standard output and error as streams (consecutive
/// writes to one stream joined), display(...) as display_data (an update replaces the output it updates), the
/// cell's value as execute_result, compiler diagnostics as stderr, a failure as an error output.
/// </summary>
internal sealed class CellOutputs(int executionCount)
{
    private readonly Dictionary<string, int> _displayed = [];

    public List<InteractiveDocumentOutputElement> Elements { get; } = [];

    public List<string> Warnings { get; } = [];

    /// <summary>"Name: message" of the failure, when the cell failed.</summary>
    public string? Error { get; private set; }

    public List<string> Types => Elements.Select(e => e switch
    {
        TextElement => "stream",
        ReturnValueElement => "execute_result",
        ErrorElement => "error",
        _ => "display_data",
    }).ToList();

    public void Add(KernelEvent e)
    {
        switch (e)
        {
            case StandardOutputValueProduced o:
                Stream("stdout", PlainText(o));
                break;
            case StandardErrorValueProduced o:
                Stream("stderr", PlainText(o));
                break;
            case DisplayedValueUpdated updated when _displayed.TryGetValue(updated.ValueId, out int at):
                Elements[at] = new DisplayElement(Data(updated));
                break;
            case DisplayedValueProduced displayed:
                if (displayed.ValueId is { } id) _displayed[id] = Elements.Count;
                Elements.Add(new DisplayElement(Data(displayed)));
                break;
            case ReturnValueProduced { Value: not DisplayedValue } value:
                var result = new ReturnValueElement { ExecutionOrder = executionCount };
                foreach (var (mime, text) in Data(value)) result.Data[mime] = text;
                Elements.Add(result);
                break;
            case DiagnosticsProduced diagnostics when diagnostics.FormattedDiagnostics.Count > 0:
                Warnings.AddRange(diagnostics.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning).Select(d => $"{d.Code}: {d.Message}"));
                Stream("stderr", "\n" + string.Join("\n\n", diagnostics.FormattedDiagnostics.Select(v => v.Value)) + "\n\n");
                break;
            case CommandFailed failed:
                Fail(failed);
                break;
        }
    }

    private void Fail(CommandFailed failed)
    {
        switch (failed.Exception)
        {
            case CodeSubmissionCompilationErrorException:   // its diagnostics are already on stderr
                Elements.Add(new ErrorElement("compilation error", "Error", []));
                Error = $"CompilationError: {failed.Message}";
                break;
            case null:
                Elements.Add(new ErrorElement(failed.Message, "Error", [failed.Message]));
                Error = $"Error: {failed.Message}";
                break;
            case var exception:
                Elements.Add(new ErrorElement(failed.Message, "Error",
                    [exception.ToString(), .. (exception.StackTrace ?? "").Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)]));
                Error = $"{exception.GetType().Name}: {exception.Message}";
                break;
        }
    }

    private void Stream(string name, string text)
    {
        if (Elements.Count > 0 && Elements[^1] is TextElement last && last.Name == name)
            Elements[^1] = new TextElement(last.Text + text, name);
        else
            Elements.Add(new TextElement(text, name));
    }

    private static string PlainText(DisplayEvent e) =>
        e.FormattedValues.FirstOrDefault(v => v.MimeType == "text/plain")?.Value ?? e.Value?.ToString() ?? "";

    private static Dictionary<string, object> Data(DisplayEvent e) =>
        e.FormattedValues.ToDictionary(v => v.MimeType, v => (object)v.Value);
}
