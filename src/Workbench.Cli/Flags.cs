using System.CommandLine;

namespace Workbench.Cli;

/// <summary>Range checks of numeric flags, so a zero or negative size is an error naming the flag, not a crash later.</summary>
public static class Flags
{
    /// <summary>The first of <paramref name="options"/> whose value is below <paramref name="minimum"/>, as a problem; null when all are fine.</summary>
    public static string? AtLeast(ParseResult parse, int minimum, params Option<int>[] options) =>
        options.FirstOrDefault(o => parse.GetValue(o) < minimum) is { } bad ? $"{bad.Name}: must be at least {minimum}, got {parse.GetValue(bad)}" : null;

    /// <summary>A list flag's values, given repeated or comma-separated (<c>--target q_proj,v_proj</c>); null when absent.</summary>
    public static string[]? List(IEnumerable<string>? values) =>
        values?.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();

    /// <summary>A library message about a setting ("top_p: must be in (0, 1]") as one about its flag ("--top-p: …").</summary>
    public static string AsFlag(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message, @"^([a-z][a-z0-9_]*):", m => "--" + m.Groups[1].Value.Replace('_', '-') + ":");
}
