using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive.Documents;
using Workbench.Notebooks;

namespace Workbench.Tests.Notebooks;

/// <summary>
/// Every notebook in notebooks/ runs on the real C# kernel through <c>wb notebook run</c>, in its own process as a
/// user runs it (the Workbench package from artifacts/packages, found through notebooks/nuget.config), with small
/// parameters. Each must run every cell without a compiler warning or anything on stderr, and its executed file
/// must be what Polyglot writes: nbformat 4.5 that Microsoft.DotNet.Interactive.Documents reads and writes back
/// unchanged, with only stdout streams, display_data and execute_result outputs in text/html or text/plain.
/// </summary>
public class WorkbenchNotebookTests
{
    private static readonly string[] Mimes = ["text/html", "text/plain"];

    public static TheoryData<string> Notebooks() =>
        [.. Directory.GetFiles(Path.GetDirectoryName(NotebookKit.NotebookPath("x"))!, "*.ipynb").Select(p => Path.GetFileName(p)).Order()];

    /// <summary>Each notebook has its checks below; a new notebook needs a new test.</summary>
    [Theory]
    [MemberData(nameof(Notebooks))]
    public void EveryNotebookIsTested(string name) =>
        Assert.Contains(typeof(WorkbenchNotebookTests).GetMethods(), m => m.Name.StartsWith(name.Replace("_", "").Replace(".ipynb", ""), StringComparison.OrdinalIgnoreCase));

    static InteractiveDocument Run(string name, params string[] parameters)
    {
        string path = NotebookKit.NotebookPath(name);
        NotebookKit.AssertValidPolyglotNotebook(File.ReadAllText(path));
        using var dir = new Support.TempDir();
        var (code, result, executed, stderr) = NotebookKit.RunWb(path, dir.Path, parameters);
        var failed = result["cells"]!.AsArray().FirstOrDefault(c => c!["error"] is not null);
        Assert.True(code == 0 && failed is null, $"{name}: cell {failed?["cell"]}: {failed?["error"]}\n{stderr}");
        foreach (var cell in result["cells"]!.AsArray())
            Assert.True(cell!["warnings"]!.AsArray().Count == 0, $"{name} cell {cell["cell"]}: {cell["warnings"]!.ToJsonString()}");

        NotebookKit.AssertValidPolyglotNotebook(executed);
        var notebook = NotebookFile.Parse(executed);
        Assert.Equal(executed, NotebookFile.ToJson(notebook));
        foreach (var output in notebook.Elements.SelectMany(c => c.Outputs))
        {
            switch (output)
            {
                case TextElement stream: Assert.True(stream.Name == "stdout", $"{name}: {stream.Name}: {stream.Text}"); break;
                case DisplayElement d: Assert.All(d.Data.Keys, k => Assert.Contains(k, Mimes)); break;
                case ReturnValueElement r: Assert.All(r.Data.Keys, k => Assert.Contains(k, Mimes)); break;
                default: Assert.Fail($"{name}: {output.GetType().Name}"); break;
            }
        }
        return notebook;
    }

    static string Html(InteractiveDocument nb, string cell) =>
        Assert.Single(nb.Cell(cell).Outputs, o => o is DisplayElement or ReturnValueElement).Mime("text/html");

    static string Stdout(InteractiveDocument nb, string cell) => Assert.Single(nb.Cell(cell).Outputs.OfType<TextElement>()).Text;

    [Fact]
    public void HelloSharesStateAndShowsATableAndAChart()
    {
        var nb = Run("Hello.ipynb", "steps=7", "title=T");
        Assert.Equal("T: 7 steps, final loss 2.7933\n", Stdout(nb, "losses"));   // 4·0.95⁷
        var table = nb.Cell("table").Outputs.Single();
        Assert.Contains("<th>step</th><th>loss</th>", table.Mime("text/html"));
        Assert.Contains("| 5 | 2.94037 |", table.Mime("text/plain"));            // losses[5] = 4·0.95⁶ = 2.94037…
        var chart = Assert.IsType<ReturnValueElement>(nb.Cell("chart").Outputs.Single());
        Assert.Contains("Plotly.newPlot(", chart.Mime("text/html"));
        Assert.Equal("Chart(scatter 'loss' 7 points)", chart.Mime("text/plain"));
        Assert.Contains("<pre>7</pre>", nb.Cell("count").Outputs.Single().Mime("text/html"));   // a plain value: the kernel's own formatting
    }

    [Fact]
    public void LoadAndFewshotTestScoresBothPrompts()
    {
        var nb = Run("Load_and_Fewshot_test.ipynb", "samples=3", "shots=3");
        Assert.Contains("<td>vocabulary</td><td style=\"text-align:right\">8000</td>", Html(nb, "load"));   // ko-tiny
        Assert.Matches(@"^nsmc: shot pool \d+ documents, 3 test items, 3 shots each\n$", Stdout(nb, "shots"));
        Assert.StartsWith("문장: ", Stdout(nb, "prompt1-context"));
        Assert.Contains("\n감정: ", Stdout(nb, "prompt1-context"));
        foreach (var (cell, prompt) in new[] { ("prompt1", "prompt1"), ("prompt2", "prompt2") })
        {
            var html = Html(nb, cell);
            Assert.Contains($"nsmc / {prompt} / loglik", html);
            Assert.Matches(@"accuracy (0\.000|0\.333|0\.667|1\.000) \([0-3]/3, 95% CI", html);
        }
        Assert.Matches(@"<td>nsmc</td><td>prompt1</td><td>loglik</td><td style=""text-align:right"">3</td>", Html(nb, "accuracy"));
        var chart = Html(nb, "chart");
        Assert.Contains("\"type\":\"bar\"", chart);
        Assert.Contains("\"x\":[\"prompt 1\",\"prompt 2\"]", chart);
    }

    [Fact]
    public void QLoRAInternalsRebuildsNf4AndComparesTypes()
    {
        var nb = Run("QLoRA_Internals.ipynb", "n=4096");
        Assert.Contains("Φ⁻¹(0.9677083) = 1.848", Stdout(nb, "nf4"));
        Assert.Contains("<td style=\"text-align:right\">15</td><td style=\"text-align:right\">1</td><td style=\"text-align:right\">1</td><td style=\"text-align:right\">0</td>", Html(nb, "nf4"));
        Assert.Matches(@"^4096 values, 64 blocks of 64: 2048 code bytes \+ 64 fp32 absmax; RMSE 0\.0\d+\n$", Stdout(nb, "block"));
        var bits = Html(nb, "bits");
        Assert.Contains("<td>nf4</td><td style=\"text-align:right\">64</td><td style=\"text-align:right\">4.5</td>", bits);
        Assert.Contains("<td>int8</td><td style=\"text-align:right\">64</td><td style=\"text-align:right\">8.5</td>", bits);
        var histogram = nb.Cell("errors").Outputs.OfType<ReturnValueElement>().Single().Mime("text/html");
        Assert.Equal(4, Regex.Matches(histogram, "\"type\":\"histogram\"").Count);
        var relative = Regex.Match(Stdout(nb, "linear"), @"relative RMS error of the output: ([\d.]+) ?%");
        Assert.InRange(double.Parse(relative.Groups[1].Value, CultureInfo.InvariantCulture), 1, 20);   // NF4 of N(0, σ²) weights: ~10%
    }

    [Fact]
    public void TrainingIA3LowersTheLoss()
    {
        var nb = Run("Training_IA3.ipynb", "steps=8");
        Assert.Contains("<td>layers with adapters</td><td style=\"text-align:right\">15</td>", Html(nb, "model"));
        Assert.Matches(@"^loss [\d.]+ → [\d.]+ in 8 steps\n$", Stdout(nb, "train"));
        Assert.Contains("\"text\":\"Adapter training loss\"", Html(nb, "loss-chart"));
        Assert.Contains("<pre>True</pre>", nb.Cell("final-loss").Outputs.Single().Mime("text/html"));
    }

    [Fact]
    public void MergeAndExportKeepsTheLogitsAndExportsAPlainModel()
    {
        using var dir = new Support.TempDir();
        var nb = Run("Merge_and_Export.ipynb", $"outDir={dir.Path}");
        Assert.True(File.Exists(dir.File("model.safetensors")));
        // 5 layers × (2 norms + 4 attention + 3 MLP weights) + embedding + final norm; merged: no lora_ keys
        Assert.Contains($"wrote 47 tensors to {dir.Path}; lora keys: 0", Stdout(nb, "export"));
        var rows = Regex.Matches(Html(nb, "export"), @"<td style=""text-align:right"">([^<]+)</td>");
        Assert.Equal(2, rows.Count);
        Assert.All(rows, m => Assert.InRange(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), 0, 1e-4));
        Assert.Contains("\"name\":\"merged\"", Html(nb, "chart"));
    }

    [Fact]
    public void PreferenceTuningBuildsPairsTrainsOrpoAndDpoMergesAndReports()
    {
        using var dir = new Support.TempDir();
        var nb = Run("Preference_Tuning.ipynb", "records=12", "heldout=4", "steps=2", "microBatch=2", $"outDir={dir.Path}");
        Assert.Matches(@"; \d+ pairs to train on, 4 held out\n$", Stdout(nb, "pairs"));
        var trained = Html(nb, "train");
        Assert.Contains("<td>orpo</td>", trained);
        Assert.Contains("<td>dpo</td><td style=\"text-align:right\">2</td>", trained);
        Assert.Contains("<td style=\"text-align:right\">0.6931</td>", trained);    // DPO's first loss: ln 2
        Assert.Contains("Reward margins", Html(nb, "margins-chart"));
        Assert.Contains("<td>dpo adapter</td>", Html(nb, "heldout"));
        Assert.Contains("<td>tuned (ORPO, merged)</td>", Html(nb, "compare"));
        Assert.True(File.Exists(Path.Combine(dir.Path, "orpo-merged", "model.safetensors")));
        Assert.Contains("<h2>Base vs tuned</h2>", File.ReadAllText(Path.Combine(dir.Path, "report.html")));
    }
}
