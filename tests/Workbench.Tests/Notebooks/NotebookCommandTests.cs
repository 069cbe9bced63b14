using Workbench.Cli;
using Workbench.Notebooks.Ipynb;

namespace Workbench.Tests.Notebooks;

[Collection("Console")]
public class NotebookCommandTests
{
    private static (int Code, string Stderr) Wb(params string[] args)
    {
        var stderr = Console.Error;
        var captured = new StringWriter();
        Console.SetError(captured);
        try { return (Program.Build().Parse(args).Invoke(), captured.ToString()); }
        finally { Console.SetError(stderr); }
    }

    [Fact]
    public void Run_writes_the_executed_notebook_and_the_report()
    {
        string dir = Directory.CreateTempSubdirectory("wb-cli-").FullName;
        try
        {
            string executed = Path.Combine(dir, "out.ipynb"), html = Path.Combine(dir, "out.html");
            var (code, stderr) = Wb("notebook", "run", NotebookKit.HelloPath, "--out", executed, "--html", html, "--param", "steps=3", "--param", "title=T");
            Assert.True(code == 0, stderr);
            Assert.Contains("cell 6 ok", stderr);
            NotebookKit.AssertValidPolyglotNotebook(File.ReadAllText(executed));
            Assert.Equal("3", Notebook.Load(executed).Cell("count").OutputList()[0].Mime("text/plain"));
            Assert.Contains("<pre class=\"output stream stdout\">T: 3 steps", File.ReadAllText(html));
            Assert.Equal(["out.html", "out.ipynb"], Directory.GetFiles(dir).Select(Path.GetFileName).Order());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Run_fails_with_the_cell_number_and_still_writes_the_outputs()
    {
        string dir = Directory.CreateTempSubdirectory("wb-cli-").FullName;
        try
        {
            string source = Path.Combine(dir, "bad.ipynb"), executed = Path.Combine(dir, "bad.out.ipynb");
            NotebookKit.Of("var ok = 1;", "ok / 0").Save(source);
            var (code, stderr) = Wb("notebook", "run", source, "--out", executed);
            Assert.Equal(1, code);
            Assert.Contains("cell 2 failed: DivideByZeroException", stderr);
            Assert.Equal("error", Notebook.Load(executed).Cells[1].OutputList()[0].Type());

            var (_, json, _) = Workbench.Tests.Support.WbCli.Run("notebook", "run", source, "--json");
            var result = System.Text.Json.Nodes.JsonNode.Parse(json)!;     // printed before the failing exit
            Assert.False(result["succeeded"]!.GetValue<bool>());
            Assert.Null(result["cells"]![0]!["error"]);
            Assert.Contains("DivideByZeroException", result["cells"]![1]!["error"]!.GetValue<string>());

            Assert.Equal(2, Wb("notebook", "run", source, "--param", "x=1").Code); // no parameters cell
            Assert.Equal(2, Wb("notebook", "run", Path.Combine(dir, "missing.ipynb")).Code);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Export_writes_a_cs_file_next_to_the_notebook()
    {
        string dir = Directory.CreateTempSubdirectory("wb-cli-").FullName;
        try
        {
            string source = Path.Combine(dir, "n.ipynb");
            NotebookKit.Of("Console.WriteLine(1);").Save(source);
            var (code, stdout, _) = Workbench.Tests.Support.WbCli.Run("notebook", "export", source, "--json");
            Assert.Equal(0, code);
            Assert.Equal(Path.Combine(dir, "n.cs"), System.Text.Json.Nodes.JsonNode.Parse(stdout)!["out"]!.GetValue<string>());
            Assert.Contains("Console.WriteLine(1);", File.ReadAllText(Path.Combine(dir, "n.cs")));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
