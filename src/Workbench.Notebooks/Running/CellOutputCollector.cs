using System.Text;
using System.Text.Json.Nodes;
using Workbench.Notebooks.Ipynb;

namespace Workbench.Notebooks.Running;

/// <summary>
/// Gathers one cell's outputs in the order they happen: consecutive writes to the same stream merge into one
/// stream output; a display call first closes the pending stream text.
/// </summary>
internal sealed class CellOutputCollector
{
    private readonly StringBuilder _pending = new();
    private string? _pendingStream;

    public CellOutputCollector()
    {
        Stdout = new StreamWriter(this, "stdout");
        Stderr = new StreamWriter(this, "stderr");
    }

    public List<JsonObject> Outputs { get; } = [];

    public TextWriter Stdout { get; }

    public TextWriter Stderr { get; }

    public void Display(object? value)
    {
        Flush();
        Outputs.Add(CellOutputs.DisplayData(DisplayFormatter.Format(value)));
    }

    public void Add(JsonObject output)
    {
        Flush();
        Outputs.Add(output);
    }

    public void Flush()
    {
        if (_pendingStream is not null && _pending.Length > 0) Outputs.Add(CellOutputs.Stream(_pendingStream, _pending.ToString()));
        _pending.Clear();
        _pendingStream = null;
    }

    private void Append(string stream, ReadOnlySpan<char> text)
    {
        if (_pendingStream != stream) Flush();
        _pendingStream = stream;
        _pending.Append(text);
    }

    private sealed class StreamWriter(CellOutputCollector owner, string stream) : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) => owner.Append(stream, [value]);

        public override void Write(string? value) => owner.Append(stream, value);

        public override void Write(char[] buffer, int index, int count) => owner.Append(stream, buffer.AsSpan(index, count));
    }
}
