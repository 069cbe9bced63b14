using System.Globalization;
using System.Text.RegularExpressions;
using Workbench.Notebooks.Ipynb;
using Workbench.Notebooks.Running;

namespace Workbench.Tests.Notebooks;

/// <summary>The four Workbench notebooks run headless through the runner with small parameters, and their key outputs.</summary>
[Collection("Console")]
public class WorkbenchNotebookTests
{
    static NotebookRunResult Run(string name, params (string Name, string Value)[] parameters)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "notebooks", name);
        NotebookKit.AssertValidPolyglotNotebook(File.ReadAllText(path));
        var result = NotebookKit.Run(Notebook.Load(path), new NotebookRunOptions
        {
            Parameters = parameters.ToDictionary(p => p.Name, p => p.Value),
        });
        Assert.True(result.Succeeded, $"{name}: cell {result.FirstFailure?.CellNumber}: {result.FirstFailure?.Error}");
        NotebookKit.AssertValidPolyglotNotebook(result.Executed.ToJson());
        return result;
    }

    static string Html(Notebook nb, string cell) => Assert.Single(nb.Cell(cell).OutputList(), o => o.Type() is "display_data" or "execute_result").Mime("text/html");
    static string Stdout(Notebook nb, string cell) => Assert.Single(nb.Cell(cell).OutputList(), o => o.Type() == "stream").Text();

    [Fact]
    public void LoadAndFewShotTestScoresBothPrompts()
    {
        var nb = Run("Load_and_Fewshot_test.ipynb", ("samples", "3"), ("shots", "3")).Executed;
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
        var nb = Run("QLoRA_Internals.ipynb", ("n", "4096")).Executed;
        Assert.Contains("Φ⁻¹(0.9677083) = 1.848", Stdout(nb, "nf4"));
        Assert.Contains("<td style=\"text-align:right\">15</td><td style=\"text-align:right\">1</td><td style=\"text-align:right\">1</td><td style=\"text-align:right\">0</td>", Html(nb, "nf4"));
        Assert.Matches(@"^4096 values, 64 blocks of 64: 2048 code bytes \+ 64 fp32 absmax; RMSE 0\.0\d+\n$", Stdout(nb, "block"));
        var bits = Html(nb, "bits");
        Assert.Contains("<td>nf4</td><td style=\"text-align:right\">64</td><td style=\"text-align:right\">4.5</td>", bits);
        Assert.Contains("<td>int8</td><td style=\"text-align:right\">64</td><td style=\"text-align:right\">8.5</td>", bits);
        var histogram = nb.Cell("errors").OutputList().Single(o => o.Type() == "execute_result").Mime("text/html");
        Assert.Equal(4, Regex.Matches(histogram, "\"type\":\"histogram\"").Count);
        var relative = Regex.Match(Stdout(nb, "linear"), @"relative RMS error of the output: ([\d.]+) ?%");
        Assert.InRange(double.Parse(relative.Groups[1].Value, CultureInfo.InvariantCulture), 1, 20);   // NF4 of N(0, σ²) weights: ~10%
    }

    [Fact]
    public void TrainingNotebookLowersTheLoss()
    {
        var nb = Run("Training_IA3.ipynb", ("steps", "8")).Executed;
        Assert.Contains("<td>layers with adapters</td><td style=\"text-align:right\">15</td>", Html(nb, "model"));
        Assert.Matches(@"^loss [\d.]+ → [\d.]+ in 8 steps\n$", Stdout(nb, "train"));
        Assert.Contains("\"text\":\"Adapter training loss\"", Html(nb, "loss-chart"));
        Assert.Equal("True", nb.Cell("final-loss").OutputList().Single().Mime("text/plain"));
    }

    [Fact]
    public void MergeNotebookKeepsTheLogitsAndExportsAPlainModel()
    {
        using var dir = new Support.TempDir();
        var nb = Run("Merge_and_Export.ipynb", ("outDir", dir.Path)).Executed;
        Assert.True(File.Exists(dir.File("model.safetensors")));
        // 5 layers × (2 norms + 4 attention + 3 MLP weights) + embedding + final norm; merged: no lora_ keys
        Assert.Contains($"wrote 47 tensors to {dir.Path}; lora keys: 0", Stdout(nb, "export"));
        var rows = Regex.Matches(Html(nb, "export"), @"<td style=""text-align:right"">([^<]+)</td>");
        Assert.Equal(2, rows.Count);
        Assert.All(rows, m => Assert.InRange(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), 0, 1e-4));
        Assert.Contains("\"name\":\"merged\"", Html(nb, "chart"));
    }

    [Fact]
    public void PreferenceNotebookBuildsPairsTrainsOrpoAndDpoMergesAndReports()
    {
        using var dir = new Support.TempDir();
        var nb = Run("Preference_Tuning.ipynb", ("records", "12"), ("heldout", "4"), ("steps", "2"), ("microBatch", "2"), ("outDir", dir.Path)).Executed;
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
