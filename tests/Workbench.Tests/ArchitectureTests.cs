using System.Text.RegularExpressions;
using Workbench.Tests.Support;

namespace Workbench.Tests;

/// <summary>
/// The library's floors (src/Workbench/README.md): a file may use its own folder and the floors below it, never its own
/// floor's other folders, a floor above, the notebook runner or the CLI. Read from the <c>using</c> lines and fully qualified names.
/// </summary>
public class ArchitectureTests
{
    private static readonly Dictionary<string, int> Floors = new()
    {
        ["Engine"] = 0, ["Formats"] = 1, ["Tokenizers"] = 2, ["Models"] = 3, ["Data"] = 3,
        ["Adapters"] = 4, ["Quantization"] = 4, ["Backends"] = 5, ["Export"] = 5,
        ["Evaluation"] = 6, ["Generation"] = 6, ["Training"] = 7, ["Reports"] = 8,
    };

    [Fact]
    public void EveryFloorUsesOnlyTheFloorsBelowIt()
    {
        var library = Path.Combine(RepoPaths.Root, "src", "Workbench");
        var wrong = new List<string>();
        foreach (var file in Directory.EnumerateFiles(library, "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/") && !f.Contains("/bin/")))
        {
            var folder = Path.GetRelativePath(library, file).Split(Path.DirectorySeparatorChar)[0];
            Assert.True(Floors.ContainsKey(folder), $"{folder}: a folder with no floor in src/Workbench/README.md");
            var used = Regex.Matches(File.ReadAllText(file), @"\bWorkbench\.([A-Z][A-Za-z]+)").Select(m => m.Groups[1].Value).Distinct();
            foreach (var name in used.Where(n => n != folder))
                if (!Floors.TryGetValue(name, out var floor) || floor >= Floors[folder])
                    wrong.Add($"{Path.GetRelativePath(RepoPaths.Root, file)} uses Workbench.{name}");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }
}
