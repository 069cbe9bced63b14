using Microsoft.DotNet.Interactive.Documents;
using Workbench.Cli;
using Workbench.Notebooks;

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
    public void RunWritesTheExecutedNotebookAndTheReport()
    {
        string dir = Directory.CreateTempSubdirectory("wb-cli-").FullName;
        try
        {
            string source = Path.Combine(dir, "n.ipynb"), executed = Path.Combine(dir, "out.ipynb"), html = Path.Combine(dir, "out.html");
            var notebook = NotebookKit.Of("int steps = 20;\nstring title = \"Hello\";", "Console.WriteLine($\"{title}: {steps} steps\");", "steps");
            notebook.Elements[0].Metadata = new Dictionary<string, object> { ["tags"] = new List<object> { "parameters" } };
            NotebookFile.Save(notebook, source);
            var (code, stderr) = Wb("notebook", "run", source, "--out", executed, "--html", html, "--param", "steps=3", "--param", "title=T");
            Assert.True(code == 0, stderr);
            Assert.Contains("cell 2 ok", stderr);
            NotebookKit.AssertValidPolyglotNotebook(File.ReadAllText(executed));
            Assert.Contains("<pre>3</pre>", NotebookFile.Load(executed).Elements[3].Outputs.Single().Mime("text/html"));
            Assert.Contains("<pre class=\"output stream stdout\">T: 3 steps", File.ReadAllText(html));
            Assert.Equal(["n.ipynb", "out.html", "out.ipynb"], Directory.GetFiles(dir).Select(Path.GetFileName).Order());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void RunFailsWithTheCellNumberAndStillWritesTheOutputs()
    {
        string dir = Directory.CreateTempSubdirectory("wb-cli-").FullName;
        try
        {
            string source = Path.Combine(dir, "bad.ipynb"), executed = Path.Combine(dir, "bad.out.ipynb");
            NotebookFile.Save(NotebookKit.Of("var ok = 1;", "ok / 0"), source);
            var (code, stderr) = Wb("notebook", "run", source, "--out", executed);
            Assert.Equal(1, code);
            Assert.Contains("cell 2 failed: DivideByZeroException", stderr);
            Assert.IsType<ErrorElement>(NotebookFile.Load(executed).Elements[1].Outputs.Single());

            var (_, json, _) = Workbench.Tests.Support.WbCli.Run("notebook", "run", source, "--json");
            var result = System.Text.Json.Nodes.JsonNode.Parse(json)!;     // printed before the failing exit
            Assert.False(result["succeeded"]!.GetValue<bool>());
            Assert.Null(result["cells"]![0]!["error"]);
            Assert.Equal("ok", result["cells"]![0]!["status"]!.GetValue<string>());
            Assert.Equal("failed", result["cells"]![1]!["status"]!.GetValue<string>());
            Assert.Equal("error", result["cells"]![1]!["outputs"]![0]!.GetValue<string>());
            Assert.Contains("DivideByZeroException", result["cells"]![1]!["error"]!.GetValue<string>());

            Assert.Equal(2, Wb("notebook", "run", source, "--param", "x=1").Code); // no parameters cell
            Assert.Equal(2, Wb("notebook", "run", Path.Combine(dir, "missing.ipynb")).Code);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void ExportWritesACsFileNextToTheNotebook()
    {
        string dir = Directory.CreateTempSubdirectory("wb-cli-").FullName;
        try
        {
            string source = Path.Combine(dir, "n.ipynb");
            NotebookFile.Save(NotebookKit.Of("Console.WriteLine(1);"), source);
            var (code, stdout, _) = Workbench.Tests.Support.WbCli.Run("notebook", "export", source, "--json");
            Assert.Equal(0, code);
            Assert.Equal(Path.Combine(dir, "n.cs"), System.Text.Json.Nodes.JsonNode.Parse(stdout)!["out"]!.GetValue<string>());
            Assert.Contains("Console.WriteLine(1);", File.ReadAllText(Path.Combine(dir, "n.cs")));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
