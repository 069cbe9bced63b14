using System.Text.Json.Nodes;
using Workbench.Notebooks.Ipynb;

namespace Workbench.Tests.Notebooks;

public class NotebookFormatTests
{
    private const string Foreign = """
        {"nbformat_minor": 4, "nbformat": 4, "x-extra": {"kept": [1, 2]},
         "metadata": {"custom": {"a": true}, "kernelspec": {"name": "python3", "display_name": "Python 3"}},
         "cells": [
          {"metadata": {"collapsed": true, "tags": ["t"]}, "cell_type": "code", "execution_count": 3, "source": "print(1)\nprint(2)",
           "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n2\n"},
                       {"output_type": "display_data", "metadata": {"isolated": true}, "data": {"image/png": "iVBOR", "application/json": {"k": 1}}}]},
          {"cell_type": "markdown", "metadata": {}, "source": ["# Title\n", "text"], "attachments": {}}
         ]}
        """;

    [Fact]
    public void Unknown_fields_survive_a_round_trip()
    {
        var notebook = Notebook.Parse(Foreign);
        var written = JsonNode.Parse(notebook.ToJson());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Foreign), written), written!.ToJsonString());
        Assert.Equal("print(1)\nprint(2)", notebook.Cells[0].Source);
        Assert.Equal(["t"], notebook.Cells[0].Tags);
        Assert.Equal("# Title\ntext", notebook.Cells[1].Source);
        Assert.Equal("{\"k\":1}", CellOutputs.DataOf(notebook.Cells[0].Outputs[1]!.AsObject())["application/json"]);
    }

    [Fact]
    public void Written_like_jupyter_sorted_keys_one_space_indent_lines_as_arrays()
    {
        var notebook = Notebook.Parse("""{"nbformat": 4, "nbformat_minor": 4, "metadata": {"b": 1, "a": "é<"}, "cells": []}""");
        notebook.Cells.Add(NotebookCell.Markdown("x\ny"));
        notebook.Cells[0].Json.Remove("id"); // nbformat 4.4 has no cell ids
        Assert.Equal(
            "{\n \"cells\": [\n  {\n   \"cell_type\": \"markdown\",\n   \"metadata\": {},\n   \"source\": [\n    \"x\\n\",\n    \"y\"\n   ]\n  }\n ],\n" +
            " \"metadata\": {\n  \"a\": \"é<\",\n  \"b\": 1\n },\n \"nbformat\": 4,\n \"nbformat_minor\": 4\n}\n",
            notebook.ToJson());
    }

    [Fact]
    public void New_notebooks_and_cells_use_polyglot_csharp_metadata()
    {
        var notebook = Notebook.CreatePolyglot();
        notebook.Cells.Add(NotebookCell.Code("1 + 1", "parameters"));
        var json = JsonNode.Parse(notebook.ToJson())!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            {"kernelspec": {"display_name": ".NET (C#)", "language": "C#", "name": ".net-csharp"},
             "language_info": {"file_extension": ".cs", "mimetype": "text/x-csharp", "name": "C#", "pygments_lexer": "csharp", "version": "13.0"},
             "polyglot_notebook": {"kernelInfo": {"defaultKernelName": "csharp", "items": [{"aliases": [], "languageName": "C#", "name": "csharp"}]}}}
            """), json["metadata"]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            {"dotnet_interactive": {"language": "csharp"}, "polyglot_notebook": {"kernelName": "csharp"}, "tags": ["parameters"]}
            """), json["cells"]![0]!["metadata"]));
        NotebookKit.AssertValidPolyglotNotebook(notebook.ToJson());
    }

    [Fact]
    public void Outputs_are_written_as_polyglot_writes_them()
    {
        var data = new Dictionary<string, string> { ["text/plain"] = "a\nb", ["text/html"] = "<b>a</b>" };
        Assert.Equal("""{"name":"stdout","output_type":"stream","text":["x\n","y"]}""", CellOutputs.Stream("stdout", "x\ny").ToJsonString());
        Assert.Equal("""{"data":{"text/plain":["a\n","b"],"text/html":["\u003Cb\u003Ea\u003C/b\u003E"]},"execution_count":2,"metadata":{},"output_type":"execute_result"}""",
            CellOutputs.ExecuteResult(2, data).ToJsonString());
        Assert.Equal("display_data", CellOutputs.DisplayData(data)["output_type"]!.GetValue<string>());
        Assert.Equal("""{"ename":"E","evalue":"v","output_type":"error","traceback":["l1","l2"]}""", CellOutputs.Error("E", "v", ["l1", "l2"]).ToJsonString());
    }

    [Fact]
    public void Bad_notebooks_are_refused_with_the_reason()
    {
        Assert.Contains("nbformat 3", Assert.Throws<InvalidDataException>(() => Notebook.Parse("""{"nbformat": 3, "cells": []}""")).Message);
        Assert.Contains("no \"cells\"", Assert.Throws<InvalidDataException>(() => Notebook.Parse("""{"nbformat": 4}""")).Message);
    }

    [Fact]
    public void Save_is_atomic_and_leaves_no_temporary_file()
    {
        string dir = Directory.CreateTempSubdirectory("wb-nb-").FullName;
        string path = Path.Combine(dir, "out.ipynb");
        Notebook.CreatePolyglot().Save(path);
        Notebook.CreatePolyglot().Save(path); // overwrites
        Assert.Equal(["out.ipynb"], Directory.GetFiles(dir).Select(Path.GetFileName));
        Assert.Equal(Notebook.Load(path).ToJson(), File.ReadAllText(path));
        Directory.Delete(dir, recursive: true);
    }
}
