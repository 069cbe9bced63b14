using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;
using Workbench.Tests.Support;

namespace Workbench.Tests.Cli;

/// <summary>Keeps the README true: its commands exist, its test command is .ci/run's, its C# example compiles.</summary>
public class ReadmeTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));

    [Fact]
    public void EveryCommandInTheTableExistsInTheCli()
    {
        var root = Workbench.Cli.Program.Build();
        var commands = Regex.Matches(Readme, @"^\| `wb ([a-z\-]+(?: [a-z\-]+)?)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        Assert.True(commands.Count >= 10, $"found only {commands.Count} commands in the README table");
        foreach (var words in commands)
        {
            var parts = words.Split(' ');
            var command = root.Subcommands.SingleOrDefault(c => c.Name == parts[0]);
            Assert.True(command is not null, $"README names 'wb {words}' but the CLI has no '{parts[0]}'");
            if (parts.Length == 2 && command!.Subcommands.Count > 0)
                Assert.Contains(command.Subcommands, c => c.Name == parts[1]);
        }
    }

    [Fact]
    public void EveryCommandTakesJsonAsTheReadmeSays()
    {
        Assert.Contains("Every command takes `--json`", Readme);
        static IEnumerable<System.CommandLine.Command> Leaves(System.CommandLine.Command c) =>
            c.Subcommands.Count == 0 ? [c] : c.Subcommands.SelectMany(Leaves);
        var missing = Workbench.Cli.Program.Build().Subcommands.SelectMany(Leaves)
            .Where(c => c.Options.All(o => o.Name != "--json")).Select(c => c.Name).ToList();
        Assert.True(missing.Count == 0, $"commands without --json: {string.Join(", ", missing)}");
    }

    [Fact]
    public void TheMainJobAndTestCommandsAreTheOnesCiAndTheExamplesUse()
    {
        Assert.Contains("    ./wb demo\n", Readme);
        Assert.True(File.Exists(RepoPaths.Data("models/ko-tiny/model.safetensors")));   // what ./wb demo runs on, shipped
        Assert.True(File.Exists(RepoPaths.Data("nsmc/nsmc_sft.jsonl")));
        Assert.Contains("    dotnet test Workbench.sln -c Release\n", Readme);
        Assert.Contains("dotnet test Workbench.sln -c Release", File.ReadAllText(Path.Combine(RepoPaths.Root, ".ci", "run")));
    }

    [Fact]
    public void TheLibraryExampleCompiles()
    {
        var code = Regex.Match(Readme, "```csharp\n(.*?)```", RegexOptions.Singleline).Groups[1].Value;
        Assert.NotEmpty(code);
        var options = ScriptOptions.Default.AddReferences(typeof(Workbench.Engine.Tensor).Assembly);
        var errors = CSharpScript.Create(code, options).Compile().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }
}
