using System.Diagnostics;
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

    /// <summary>
    /// The README's C# example, as written, compiles and runs: its data paths read from the repository and its output
    /// goes to a temporary folder (the only change to the text). It trains a step, saves, reloads and merges.
    /// </summary>
    [Fact]
    public async Task TheLibraryExampleCompilesAndRuns()
    {
        var code = Regex.Match(Readme, "```csharp\n(.*?)```", RegexOptions.Singleline).Groups[1].Value;
        Assert.NotEmpty(code);
        using var dir = new TempDir();
        code = code.Replace("\"data/", $"@\"{RepoPaths.Root}/data/").Replace("\"out/", $"@\"{dir.Path}/out/");
        var options = ScriptOptions.Default.AddReferences(typeof(Workbench.Engine.Tensor).Assembly);
        var script = CSharpScript.Create(code, options);
        var errors = script.Compile().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));

        var state = await script.RunAsync();
        object Variable(string name) => state.Variables.Single(v => v.Name == name).Value;
        Assert.True(float.IsFinite(((Workbench.Engine.Tensor)Variable("loss")).Item()));
        Assert.True(File.Exists(Path.Combine(dir.Path, "out", "adapter", "adapter_model.safetensors")));
        var merged = Assert.IsType<Workbench.Models.Llama.LlamaForCausalLM>(Variable("merged"));
        Assert.DoesNotContain(merged.NamedParameters(), p => p.Name.Contains("lora_"));
        // the adapter was trained by one backward only, from B = 0: merging it leaves the model's outputs in place
        var ids = (int[])Variable("ids");
        Close.Assert((Workbench.Engine.Tensor)Variable("logits"), merged.Forward(ids, 1, ids.Length), 1e-5f, 1e-6f, "merged vs adapted logits");
    }

    /// <summary>
    /// A .NET 10 file-based app made of the README's two reference lines and its library example, run with
    /// <c>dotnet run</c> from a folder holding data/: the package from artifacts/packages must bring every dependency.
    /// </summary>
    [Fact]
    public async Task TheLibraryExampleRunsAsAFileBasedAppReferencingThePackage()
    {
        var directives = Regex.Matches(Readme, @"^    (#:(?:package Workbench|property RestoreAdditionalProjectSources).*)$", RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value.Replace("<this clone>", RepoPaths.Root)).ToList();
        Assert.Equal(2, directives.Count);
        var code = Regex.Match(Readme, "```csharp\n(.*?)```", RegexOptions.Singleline).Groups[1].Value;
        using var dir = new TempDir();
        Directory.CreateSymbolicLink(dir.File("data"), Path.Combine(RepoPaths.Root, "data"));
        File.WriteAllText(dir.File("app.cs"), string.Join("\n", directives) + "\n" + code + "\nConsole.WriteLine(\"done\");\n");

        var start = new ProcessStartInfo("dotnet", ["run", "app.cs"]) { WorkingDirectory = dir.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = await process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{stdout}\n{await stderr}");
        Assert.EndsWith("done\n", stdout.ReplaceLineEndings("\n"));
    }
}
