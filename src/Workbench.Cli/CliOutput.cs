using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Workbench.Cli;

/// <summary>
/// Shared JSON and error output for commands. Every user error is one line on stderr, <c>wb &lt;command&gt;: &lt;file or
/// flag&gt;: &lt;problem&gt;</c>, and exit code 2; nothing of it goes to stdout.
/// </summary>
public static partial class CliOutput
{
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    private static readonly AsyncLocal<string?> command = new();

    /// <summary>The command being run ("eval fewshot"), for messages; set by <see cref="Program.Main"/> once the command line is parsed.</summary>
    public static string Command
    {
        get => command.Value ?? "";
        set => command.Value = value;
    }

    /// <summary>Where the command's flags are described.</summary>
    public static string Help => Command.Length > 0 ? $"wb {Command} --help" : "wb --help";

    public static void WriteJson(JsonNode node) => Console.WriteLine(node.ToJsonString(Json));

    /// <summary>Prints the problem as one line, with a pointer to the help when it is about a flag; returns exit code 2.</summary>
    public static int Fail(string message)
    {
        var line = OneLine(message);
        if (line.StartsWith(Command + ": ", StringComparison.Ordinal)) line = line[(Command.Length + 2)..];
        if (line.Contains("--", StringComparison.Ordinal) && !line.Contains("--help", StringComparison.Ordinal)) line += $" (see {Help})";
        Console.Error.WriteLine(Command.Length > 0 ? $"wb {Command}: {line}" : $"wb: {line}");
        return 2;
    }

    /// <summary>
    /// A message on one line and without .NET's wording: the lines of a list joined by "; ", and the
    /// " (Parameter 'x')" that ArgumentException appends removed.
    /// </summary>
    public static string OneLine(string message)
    {
        message = ParameterSuffix().Replace(message, "");
        var lines = message.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        if (lines.Count <= 1) return lines.FirstOrDefault() ?? "";
        return lines[0].TrimEnd(':') + ": " + string.Join("; ", lines.Skip(1));
    }

    [GeneratedRegex(@" \(Parameter '[^']*'\)")]
    private static partial Regex ParameterSuffix();
}
