namespace Workbench.Data;

/// <summary>What to do with a bad record (malformed JSON, missing required field, wrong type).</summary>
public enum BadRecordPolicy
{
    /// <summary>Throw a <see cref="DataFormatException"/> naming the file and line.</summary>
    Fail,
    /// <summary>Skip the record and report it as a warning.</summary>
    Skip,
}

/// <summary>A bad record: file, 1-based line, and what was wrong.</summary>
public sealed record DataIssue(string File, int Line, string Message)
{
    public override string ToString() => $"{File}:{Line}: {Message}";
}

/// <summary>A data file that cannot be read as expected; the message starts with <c>file:line:</c>.</summary>
public sealed class DataFormatException(DataIssue issue) : Exception(issue.ToString())
{
    public DataIssue Issue { get; } = issue;
}
