using System.Text.Json;
using System.Text.Json.Nodes;

namespace Workbench.Cli;

/// <summary>Shared JSON and error output for commands.</summary>
public static class CliOutput
{
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static void WriteJson(JsonNode node) => Console.WriteLine(node.ToJsonString(Json));

    /// <summary>Prints "wb: message" to stderr and returns the exit code for bad input.</summary>
    public static int Fail(string message)
    {
        Console.Error.WriteLine($"wb: {message}");
        return 2;
    }
}
