using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Workbench.Notebooks;
using Workbench.Notebooks.Export;
using Workbench.Reports;

using Workbench.Tests.Support;

namespace Workbench.Tests.Notebooks;

[Collection("Console")]
public class FileAppExportTests
{
    private static string HelloDirectory => Path.GetDirectoryName(NotebookKit.NotebookPath("Hello.ipynb"))!;

    private static string ExportHello(string outputDirectory) =>
        FileAppExporter.Export(NotebookFile.Load(NotebookKit.NotebookPath("Hello.ipynb")), "Hello.ipynb", HelloDirectory, outputDirectory);

    [Fact]
    public void ReferencesBecomeFileBasedAppDirectives()
    {
        string dir = HelloDirectory;
        Assert.Contains("#:package Workbench@0.1.0-*\n", ExportHello(dir));

        var nuget = NotebookKit.Of("#i \"nuget: ../artifacts/packages\"\n#r \"nuget: Markdig, 1.6.0\"\n#r \"nuget:Spectre.Console\"\n1");
        string exported = FileAppExporter.Export(nuget, "n.ipynb", dir, Path.Combine(dir, "out"));
        Assert.Contains("#:property RestoreAdditionalProjectSources=../../artifacts/packages\n#:package Markdig@1.6.0\n#:package Spectre.Console@*\n", exported);

        string code = FileAppExporter.Export(NotebookKit.Of("#r \"../src/Workbench/bin/Release/net10.0/Workbench.dll\""), "n.ipynb", dir, dir);
        string project = code.Split('\n').Single(l => l.StartsWith("#:project "));
        Assert.Equal(Path.Combine(RepoPaths.Root, "src", "Workbench", "Workbench.csproj"), Path.GetFullPath(Path.Combine(dir, project["#:project ".Length..])));
        Assert.DoesNotContain("#r ", code);

        var bare = NotebookKit.Of("#r \"nowhere/Unknown.dll\"");
        Assert.Contains("cell 1: #r \"nowhere/Unknown.dll\"",
            Assert.Throws<NotSupportedException>(() => FileAppExporter.Export(bare, "n.ipynb", Path.GetTempPath(), Path.GetTempPath())).Message);
    }

    [Fact]
    public void CellsAreRearrangedIntoAValidTopLevelProgram()
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
    public void ExportedHelloCompilesAndRunsLikeTheNotebook()
    {
        string output = CompileAndRun(ExportHello(HelloDirectory));
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
