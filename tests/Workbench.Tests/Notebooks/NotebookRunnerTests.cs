using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.DotNet.Interactive.Documents;
using Workbench.Notebooks;
using Workbench.Notebooks.Running;

namespace Workbench.Tests.Notebooks;

/// <summary>The runner on the real C# kernel, in this process, with notebooks that need no package.</summary>
[Collection("Console")]
public class NotebookRunnerTests
{
    private const string Parameters = "int steps = 20;\ndouble rate = 0.5;\nstring title = \"Hello\";";

    [Fact]
    public void StateIsSharedAcrossCellsAndOutputsKeepTheirOrderAndTypes()
    {
        var notebook = NotebookKit.Of(
            "record Point(int X, int Y);\nint Twice(int v) => 2 * v;",
            "Console.Write(\"a\"); Console.WriteLine(\"b\");\ndisplay(\"shown\");\nConsole.Error.WriteLine(\"warn\");\nConsole.WriteLine(\"c\");\nTwice(new Point(3, 4).Y)");
        var result = NotebookKit.Run(notebook);
        Assert.True(result.Succeeded, result.FirstFailure?.Error);
        var outputs = result.Executed.Elements[1].Outputs;
        Assert.Equal(["stream", "display_data", "stream", "stream", "execute_result"], result.Cells[1].Outputs);
        Assert.Equal("ab\n", outputs[0].Text());
        Assert.Equal("shown", outputs[1].Mime("text/plain"));
        Assert.Equal("stderr", Assert.IsType<TextElement>(outputs[2]).Name);
        Assert.Equal("warn\n", outputs[2].Text());
        Assert.Equal("c\n", outputs[3].Text());
        Assert.Contains("<pre>8</pre>", outputs[4].Mime("text/html"));     // the kernel's own formatting of plain values
        Assert.Equal(2, Assert.IsType<ReturnValueElement>(outputs[4]).ExecutionOrder);
        Assert.Equal([1, 2], result.Executed.Elements.Select(c => c.ExecutionOrder));
    }

    [Fact]
    public void ParametersAreInjectedAfterTheParametersCellTypedByTheirDeclarations()
    {
        var notebook = NotebookKit.Of("# Title", Parameters, "Console.WriteLine($\"{title}: {steps} x {rate}\");");
        notebook.Elements[1].Metadata = new Dictionary<string, object> { ["tags"] = new List<object> { "parameters" } };
        var options = new NotebookRunOptions { Parameters = NotebookParameters.Parse(["steps=40", "rate=0.25", "title=Bye \"x\" = y"]) };
        var result = NotebookKit.Run(notebook, options);
        Assert.True(result.Succeeded, result.FirstFailure?.Error);
        var injected = result.Executed.Elements[2];
        Assert.Equal(["injected-parameters"], NotebookFile.Tags(injected));
        Assert.Equal("// Parameters injected by wb notebook run\nsteps = 40;\nrate = 0.25d;\ntitle = \"Bye \\\"x\\\" = y\";", injected.Contents);
        Assert.Equal("Bye \"x\" = y: 40 x 0.25\n", result.Executed.Elements[3].Outputs.Single().Text());
        Assert.Equal([2, 2, 3], result.Cells.Select(c => c.CellNumber));   // the injected cell is not counted
    }

    [Theory]
    [InlineData("stepz=3", "declares no 'stepz'")]
    [InlineData("steps=three", "steps=three: not a valid int")]
    [InlineData("rate=1,5", "rate=1,5: not a valid double")]
    public void BadParametersAreRefusedBeforeRunning(string pair, string message)
    {
        var notebook = NotebookKit.Of(Parameters);
        notebook.Elements[0].Metadata = new Dictionary<string, object> { ["tags"] = new List<object> { "parameters" } };
        var e = Assert.Throws<ArgumentException>(() => NotebookKit.Run(notebook, new NotebookRunOptions { Parameters = NotebookParameters.Parse([pair]) }));
        Assert.Contains(message, e.Message);
        Assert.Throws<ArgumentException>(() => NotebookParameters.Parse(["novalue"]));
    }

    [Fact]
    public void DeclarationsReadTypesFromTheParametersCell()
    {
        var types = NotebookParameters.Declarations("int a = 1;\nvar b = -2.5;\nvar c = \"s\";\nbool d = true, e = false;\nvar f = 3L;");
        Assert.Equal(new Dictionary<string, string> { ["a"] = "int", ["b"] = "double", ["c"] = "string", ["d"] = "bool", ["e"] = "bool", ["f"] = "long" }, types);
    }

    [Fact]
    public void StopsAtTheFirstFailingCellAndNamesIt()
    {
        var result = NotebookKit.Run(NotebookKit.Of("var x = 1;", "# a markdown cell", "throw new InvalidOperationException(\"boom\");", "x + 1"));
        var failure = result.FirstFailure!;
        Assert.Equal(3, failure.CellNumber);
        Assert.Equal("InvalidOperationException: boom", failure.Error);
        var error = Assert.IsType<ErrorElement>(Assert.Single(result.Executed.Elements[2].Outputs));
        Assert.StartsWith("System.InvalidOperationException: boom", error.ErrorValue);
        Assert.Equal(0, result.Executed.Elements[3].ExecutionOrder);
        Assert.Empty(result.Executed.Elements[3].Outputs);
        Assert.Equal(2, result.Cells.Count);
    }

    [Fact]
    public void ContinueRunsTheCellsAfterACompilationError()
    {
        var result = NotebookKit.Run(NotebookKit.Of("var x = 1;", "undefinedName + 1", "x + 1"), new NotebookRunOptions { ContinueOnError = true });
        Assert.Equal(2, result.FirstFailure!.CellNumber);
        Assert.Contains("CS0103", result.FirstFailure.Error);
        var outputs = result.Executed.Elements[1].Outputs;
        Assert.Contains("error CS0103: The name 'undefinedName' does not exist", outputs[0].Text());   // diagnostics on stderr, as in Jupyter
        Assert.Equal("compilation error", Assert.IsType<ErrorElement>(outputs[1]).ErrorValue);
        Assert.Contains("<pre>2</pre>", result.Executed.Elements[2].Outputs.Single().Mime("text/html"));
    }

    [Fact]
    public void CompilerWarningsAreReportedPerCell()
    {
        var result = NotebookKit.Run(NotebookKit.Of("string? s = null;", "int n = 1;"));
        Assert.True(result.Succeeded);
        Assert.Contains(result.Cells[0].Warnings, w => w.StartsWith("CS8632"));   // nullable annotations need #nullable in the kernel
        Assert.Empty(result.Cells[1].Warnings);
    }

    [Fact]
    public void CellsRunInTheNotebookFolderAndDllReferencesResolveFromIt()
    {
        string dir = Directory.CreateTempSubdirectory("wb-nb-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "lib"));
            var library = CSharpCompilation.Create("Greeter",
                [CSharpSyntaxTree.ParseText("namespace Greeting; public static class Greeter { public static string Hi(string n) => $\"hi {n}\"; }")],
                [MetadataReference.CreateFromFile(typeof(object).Assembly.Location)],
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
            Assert.True(library.Emit(Path.Combine(dir, "lib", "Greeter.dll")).Success);

            string before = Environment.CurrentDirectory;
            var result = NotebookKit.Run(NotebookKit.Of("#r \"lib/Greeter.dll\"\nConsole.WriteLine(Greeting.Greeter.Hi(\"there\"));",
                "Console.WriteLine(System.IO.Directory.GetCurrentDirectory());"), directory: dir);
            Assert.True(result.Succeeded, result.FirstFailure?.Error);
            Assert.Equal("hi there\n", result.Executed.Elements[0].Outputs.Single().Text());
            Assert.Equal(Path.GetFullPath(dir) + "\n", result.Executed.Elements[1].Outputs.Single().Text());
            Assert.Equal(before, Environment.CurrentDirectory);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (UnauthorizedAccessException) { } catch (IOException) { }
        }
    }

    [Fact]
    public void ValuesAreSharedThroughTheValueKernel()
    {
        var result = NotebookKit.Run(NotebookKit.Of("#!value --name greeting\nhello from the value kernel", "#!set --name shared --value @value:greeting\nshared.Length"));
        Assert.True(result.Succeeded, result.FirstFailure?.Error);
        Assert.Contains("<pre>27</pre>", result.Executed.Elements[1].Outputs.Single().Mime("text/html"));
    }
}
