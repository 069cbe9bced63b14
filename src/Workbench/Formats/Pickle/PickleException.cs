namespace Workbench.Formats.Pickle;

/// <summary>A pickle the restricted reader will not or cannot read; the message names the file and what was refused.</summary>
public sealed class PickleException(string file, string problem) : FormatException($"{file}: {problem}")
{
    public string File { get; } = file;
}
