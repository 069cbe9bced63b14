using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Workbench.Notebooks.Export;
using Workbench.Notebooks.Ipynb;
using Workbench.Reports;

namespace Workbench.Tests.Notebooks;

[Collection("Console")]
public class FileAppExportTests
{
    private static string ExportHello(string outputDirectory) =>
        FileAppExporter.Export(NotebookKit.Hello(), "Hello.ipynb", Path.GetDirectoryName(NotebookKit.HelloPath)!, outputDirectory);

    [Fact]
    public void References_become_file_based_app_directives()
    {
        // The test copy of Hello.ipynb sits in the test output folder, below the repository's src/.
        string dir = Path.GetDirectoryName(NotebookKit.HelloPath)!;
        string code = ExportHello(dir);
        string project = code.Split('\n').Single(l => l.StartsWith("#:project "));
        string csproj = Path.GetFullPath(Path.Combine(dir, project["#:project ".Length..]));
        Assert.True(File.Exists(csproj), csproj);
        Assert.Equal("Workbench.csproj", Path.GetFileName(csproj));
        Assert.DoesNotContain("#r ", code);

        var nuget = NotebookKit.Of("#r \"nuget: Markdig, 1.6.0\"\n#r \"nuget:Spectre.Console\"\n1");
        string exported = FileAppExporter.Export(nuget, "n.ipynb", dir, dir);
        Assert.Contains("#:package Markdig@1.6.0\n#:package Spectre.Console@*\n", exported);

        var bare = NotebookKit.Of("#r \"nowhere/Unknown.dll\"");
        Assert.Contains("cell 1: #r \"nowhere/Unknown.dll\"",
            Assert.Throws<NotSupportedException>(() => FileAppExporter.Export(bare, "n.ipynb", Path.GetTempPath(), Path.GetTempPath())).Message);
    }

    [Fact]
    public void Cells_are_rearranged_into_a_valid_top_level_program()
    {
        var notebook = NotebookKit.Of("# Title\nSome *text*", "using System.Text.Json;\nrecord P(int X);", "var p = new P(2);\np.X * 21");
        string code = FileAppExporter.Export(notebook, "n.ipynb", ".", ".");
        Assert.Contains("// # Title\n// Some *text*\n", code);
        Assert.Contains("using System.Text.Json;\n", code[..code.IndexOf("// # Title")]);
        Assert.Contains("display(p.X * 21);", code);
        Assert.True(code.IndexOf("static void display") < code.IndexOf("record P(int X);"));
        Assert.Equal("42\n", CompileAndRun(code));
    }

    [Fact]
    public void Exported_hello_compiles_and_runs_like_the_notebook()
    {
        string output = CompileAndRun(ExportHello(Path.GetDirectoryName(NotebookKit.HelloPath)!));
        Assert.StartsWith("Hello: 20 steps, final loss 1.4339\n| step | loss |\n", output);
        Assert.EndsWith("Chart(scatter 'loss' 20 points)\n20\n", output);
    }

    /// <summary>Compiles a file-based app with Roslyn as the SDK does (feature FileBasedProgram allows #: directives) and runs its entry point.</summary>
    private static string CompileAndRun(string code)
    {
        string frameworkDir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetDirectoryName(p) == frameworkDir)
            .Append(typeof(Table).Assembly.Location)
            .Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create("Exported",
            [CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(LanguageVersion.Preview).WithFeatures([new("FileBasedProgram", "true")]))], references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)) + "\n" + code);

        image.Position = 0;
        var context = new AssemblyLoadContext("exported", isCollectible: true);
        var writer = new StringWriter();
        var stdout = Console.Out;
        Console.SetOut(writer);
        try
        {
            var entry = context.LoadFromStream(image).EntryPoint!;
            entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
        }
        finally
        {
            Console.SetOut(stdout);
            context.Unload();
        }
        return writer.ToString().ReplaceLineEndings("\n");
    }
}
