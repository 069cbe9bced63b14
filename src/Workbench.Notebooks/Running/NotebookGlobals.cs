namespace Workbench.Notebooks.Running;

/// <summary>
/// What every notebook cell sees as globals, like the .NET Interactive C# kernel's: <c>display(value)</c> shows a
/// value as an output of the running cell (text/html for Table, Chart and other IHtmlRenderable results).
/// </summary>
public sealed class NotebookGlobals
{
    internal CellOutputCollector? Current { get; set; }

#pragma warning disable IDE1006 // lower-case on purpose: the name notebooks use in Polyglot Notebooks
    public void display(object? value) =>
        (Current ?? throw new InvalidOperationException("display() called outside a running cell")).Display(value);
#pragma warning restore IDE1006
}
