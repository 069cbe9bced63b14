using System.Globalization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Workbench.Notebooks.Ipynb;
using Workbench.Notebooks.Running;

namespace Workbench.Tests.Notebooks;

[Collection("Console")]
public class NotebookRunnerTests
{
    /// <summary>Hello.ipynb's loss after n steps at rate r: 4·(1 − r/10)ⁿ, multiplied step by step as the cell does.</summary>
    private static double HelloLoss(int steps, double rate)
    {
        double loss = 4.0;
        for (int i = 0; i < steps; i++) loss *= 1 - rate / 10;
        return loss;
    }

    [Fact]
    public void Hello_runs_headless_with_state_shared_across_cells()
    {
        var result = NotebookKit.Run(NotebookKit.Hello());
        Assert.True(result.Succeeded, result.FirstFailure?.Error);
        var nb = result.Executed;
        Assert.Equal([1, 2, 3, 4, 5, 6], nb.Cells.Where(c => c.IsCode).Select(c => c.ExecutionCount!.Value));
        Assert.Equal([2, 4, 6, 7, 8, 9], result.Cells.Select(c => c.CellNumber));

        var stdout = Assert.Single(nb.Cell("losses").OutputList());
        Assert.Equal("stream", stdout.Type());
        Assert.Equal($"Hello: 20 steps, final loss {HelloLoss(20, 0.5).ToString("F4", CultureInfo.InvariantCulture)}\n", stdout.Text());

        var table = Assert.Single(nb.Cell("table").OutputList());
        Assert.Equal("display_data", table.Type());
        Assert.Contains("<th>step</th><th>loss</th>", table.Mime("text/html"));
        Assert.Contains("| 5 | 2.94037 |", table.Mime("text/plain")); // 4·0.95⁶ = 2.940367…

        var chart = Assert.Single(nb.Cell("chart").OutputList());
        Assert.Equal("execute_result", chart.Type());
        Assert.Equal(5, chart["execution_count"]!.GetValue<int>());
        Assert.Contains("Plotly.newPlot(", chart.Mime("text/html"));
        Assert.Contains("\"mode\":\"lines\"", chart.Mime("text/html"));
        Assert.Equal("Chart(scatter 'loss' 20 points)", chart.Mime("text/plain"));

        var count = Assert.Single(nb.Cell("count").OutputList());
        Assert.Equal("20", count.Mime("text/plain"));
        Assert.False(CellOutputs.DataOf(count).ContainsKey("text/html"));
    }

    [Fact]
    public void Executed_notebook_is_nbformat_with_polyglot_metadata()
    {
        var result = NotebookKit.Run(NotebookKit.Hello(), new NotebookRunOptions { Parameters = new Dictionary<string, string> { ["steps"] = "7" } });
        string json = result.Executed.ToJson();
        NotebookKit.AssertValidPolyglotNotebook(json);
        NotebookKit.AssertValidPolyglotNotebook(File.ReadAllText(NotebookKit.HelloPath));
        Assert.Equal(json, Notebook.Parse(json).ToJson()); // stable: reading and writing changes nothing
    }

    [Fact]
    public void Parameters_are_injected_after_the_parameters_cell_typed_by_its_declarations()
    {
        var options = new NotebookRunOptions
        {
            Parameters = NotebookParameters.Parse(["steps=40", "rate=0.25", "title=Bye \"x\" = y"]),
        };
        var result = NotebookKit.Run(NotebookKit.Hello(), options);
        Assert.True(result.Succeeded, result.FirstFailure?.Error);
        var cells = result.Executed.Cells;
        int at = cells.FindIndex(c => c.Tags.Contains("parameters"));
        var injected = cells[at + 1];
        Assert.Equal(["injected-parameters"], injected.Tags);
        Assert.Equal("csharp", injected.KernelName);
        Assert.Equal("// Parameters injected by wb notebook run\nsteps = 40;\nrate = 0.25d;\ntitle = \"Bye \\\"x\\\" = y\";", injected.Source);

        string loss = HelloLoss(40, 0.25).ToString("F4", CultureInfo.InvariantCulture);
        Assert.Equal($"Bye \"x\" = y: 40 steps, final loss {loss}\n", result.Executed.Cell("losses").OutputList()[0].Text());
        Assert.Equal("40", result.Executed.Cell("count").OutputList()[0].Mime("text/plain"));
    }

    [Theory]
    [InlineData("stepz=3", "declares no 'stepz'")]
    [InlineData("steps=three", "steps=three: not a valid int")]
    [InlineData("rate=1,5", "rate=1,5: not a valid double")]
    public void Bad_parameters_are_refused_before_running(string pair, string message)
    {
        var e = Assert.Throws<ArgumentException>(() =>
            NotebookKit.Run(NotebookKit.Hello(), new NotebookRunOptions { Parameters = NotebookParameters.Parse([pair]) }));
        Assert.Contains(message, e.Message);
        Assert.Throws<ArgumentException>(() => NotebookParameters.Parse(["novalue"]));
    }

    [Fact]
    public void Declarations_read_types_from_the_parameters_cell()
    {
        var types = NotebookParameters.Declarations("int a = 1;\nvar b = -2.5;\nvar c = \"s\";\nbool d = true, e = false;\nvar f = 3L;");
        Assert.Equal(new Dictionary<string, string> { ["a"] = "int", ["b"] = "double", ["c"] = "string", ["d"] = "bool", ["e"] = "bool", ["f"] = "long" }, types);
    }

    [Fact]
    public void Stops_at_the_first_failing_cell_and_names_it()
    {
        var notebook = NotebookKit.Of("var x = 1;", "# a markdown cell", "throw new InvalidOperationException(\"boom\");", "x + 1");
        var result = NotebookKit.Run(notebook);
        var failure = result.FirstFailure!;
        Assert.Equal(3, failure.CellNumber);
        Assert.Equal("InvalidOperationException: boom", failure.Error);
        var error = Assert.Single(result.Executed.Cells[2].OutputList());
        Assert.Equal("error", error.Type());
        Assert.Equal("InvalidOperationException", error["ename"]!.GetValue<string>());
        Assert.Equal("boom", error["evalue"]!.GetValue<string>());
        Assert.Null(result.Executed.Cells[3].ExecutionCount);
        Assert.Empty(result.Executed.Cells[3].Outputs);
        Assert.Equal(2, result.Cells.Count);
    }

    [Fact]
    public void Continue_runs_the_cells_after_a_failure()
    {
        var notebook = NotebookKit.Of("var x = 1;", "undefinedName + 1", "x + 1");
        var result = NotebookKit.Run(notebook, new NotebookRunOptions { ContinueOnError = true });
        Assert.Equal(2, result.FirstFailure!.CellNumber);
        var error = Assert.Single(result.Executed.Cells[1].OutputList());
        Assert.Equal("CompilationError", error["ename"]!.GetValue<string>());
        Assert.Contains("error CS0103: The name 'undefinedName' does not exist", error["evalue"]!.GetValue<string>());
        Assert.Equal("2", result.Executed.Cells[2].OutputList()[0].Mime("text/plain"));
        Assert.Equal(3, result.Executed.Cells[2].ExecutionCount);
    }

    [Fact]
    public void Outputs_keep_their_order_and_types_and_declarations_carry_over()
    {
        var notebook = NotebookKit.Of(
            "record Point(int X, int Y);\nint Twice(int v) => 2 * v;",
            "Console.Write(\"a\"); Console.WriteLine(\"b\");\ndisplay(new[] { 1, 2 });\nConsole.Error.WriteLine(\"warn\");\nConsole.WriteLine(\"c\");\nTwice(new Point(3, 4).Y)");
        var result = NotebookKit.Run(notebook);
        Assert.True(result.Succeeded, result.FirstFailure?.Error);
        var outputs = result.Executed.Cells[1].OutputList();
        Assert.Equal(["stream", "display_data", "stream", "stream", "execute_result"], outputs.Select(o => o.Type()));
        Assert.Equal("ab\n", outputs[0].Text());
        Assert.Equal("[ 1, 2 ]", outputs[1].Mime("text/plain"));
        Assert.Equal("stderr", outputs[2]["name"]!.GetValue<string>());
        Assert.Equal("warn\n", outputs[2].Text());
        Assert.Equal("c\n", outputs[3].Text());
        Assert.Equal("8", outputs[4].Mime("text/plain"));
    }

    [Fact]
    public void Nuget_references_get_a_clear_message()
    {
        var result = NotebookKit.Run(NotebookKit.Of("1", "#r \"nuget: Newtonsoft.Json, 13.0.3\"\nusing Newtonsoft.Json;"));
        Assert.Equal(2, result.FirstFailure!.CellNumber);
        Assert.Contains("#r \"nuget: Newtonsoft.Json, 13.0.3\" is not supported by the Workbench runner", result.FirstFailure.Error);
    }

    [Fact]
    public void Csharp_kernel_lines_are_accepted_and_other_magic_commands_refused()
    {
        var result = NotebookKit.Run(NotebookKit.Of("#!csharp\n6 * 7", "#!time\n1"));
        Assert.Equal("42", result.Executed.Cells[0].OutputList()[0].Mime("text/plain"));
        Assert.Equal(2, result.FirstFailure!.CellNumber);
        Assert.Contains("line 1: magic command '#!time' is not supported", result.FirstFailure.Error);
    }

    [Fact]
    public void Other_kernels_are_refused()
    {
        var notebook = NotebookKit.Of("1");
        notebook.Cells[0].Metadata["polyglot_notebook"]!["kernelName"] = "fsharp";
        Assert.Contains("kernel 'fsharp' is not supported", NotebookKit.Run(notebook).FirstFailure!.Error);
    }

    [Fact]
    public void Dll_references_resolve_from_the_notebook_folder()
    {
        string dir = Directory.CreateTempSubdirectory("wb-nb-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "lib"));
            var library = CSharpCompilation.Create("Greeter",
                [CSharpSyntaxTree.ParseText("namespace Greeting; public static class Greeter { public static string Hi(string n) => $\"hi {n}\"; }")],
                [MetadataReference.CreateFromFile(typeof(object).Assembly.Location)],
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
            var emitted = library.Emit(Path.Combine(dir, "lib", "Greeter.dll"));
            Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));

            var result = NotebookKit.Run(NotebookKit.Of("#r \"lib/Greeter.dll\"\nGreeting.Greeter.Hi(\"there\")"), directory: dir);
            Assert.True(result.Succeeded, result.FirstFailure?.Error);
            Assert.Equal("hi there", result.Executed.Cells[0].OutputList()[0].Mime("text/plain"));
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (UnauthorizedAccessException) { } catch (IOException) { }
        }
    }
}
