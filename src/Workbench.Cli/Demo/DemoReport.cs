using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Workbench.Evaluation;
using Workbench.Notebooks.Reports;
using Workbench.Reports;

namespace Workbench.Cli.Demo;

/// <summary>
/// The demo's report.html (the page style and inline plotly.js of <see cref="HtmlReport"/>): the seed's two tables —
/// method | trainable params | training time | inference time, and model | prompt 1 | prompt 2 accuracy (also as bars with their
/// intervals) — then the training loss curves of the three methods on one chart. Also the same figures as results.json.
/// </summary>
public static class DemoReport
{
    public static Table MethodsTable(DemoResult r)
    {
        var t = new Table("method", "trainable params", "% of total", "training time (s)", "inference time (s)");
        foreach (var m in r.Methods)
            t.AddRow(m.Method, m.TrainableParameters.ToString("N0", CultureInfo.InvariantCulture),
                (100.0 * m.TrainableParameters / m.TotalParameters).ToString("F3", CultureInfo.InvariantCulture),
                m.TrainingSeconds.ToString("F1", CultureInfo.InvariantCulture), m.InferenceSeconds.ToString("F1", CultureInfo.InvariantCulture));
        return t;
    }

    public static Table AccuracyTable(DemoResult r)
    {
        static string Cell(FewShotResult x) => string.Create(CultureInfo.InvariantCulture,
            $"{x.Accuracy:P1} [{x.Ci95.Low:P0}, {x.Ci95.High:P0}]");
        var t = new Table("model", "prompt 1", "prompt 2");
        foreach (var s in r.Scores) t.AddRow(s.Model, Cell(s.Prompt1), Cell(s.Prompt2));
        return t;
    }

    /// <summary>Accuracy per model, the two prompts side by side, with their 95% intervals.</summary>
    public static Chart AccuracyChart(DemoResult r)
    {
        var models = r.Scores.Select(s => s.Model).ToList();
        var chart = new Chart();
        void AddPrompt(string name, Func<ModelScores, FewShotResult> prompt) =>
            chart.AddBar(models, r.Scores.Select(s => prompt(s).Accuracy), name, r.Scores.Select(s => prompt(s).Ci95).ToList());
        AddPrompt("prompt 1", s => s.Prompt1);
        AddPrompt("prompt 2", s => s.Prompt2);
        chart.Titled("NSMC few-shot accuracy (95% Wilson interval)", null, "accuracy");
        chart.Layout["yaxis"]!["range"] = new JsonArray(0, 1);
        return chart;
    }

    public static Chart LossChart(DemoResult r)
    {
        Chart? chart = null;
        foreach (var m in r.Methods)
        {
            var (x, y) = (m.Losses.Select(p => p.Step), m.Losses.Select(p => p.Loss));
            chart = chart is null ? Chart.Line(x, y, m.Method) : chart.AddLine(x, y, m.Method);
        }
        return (chart ?? Chart.Line(Array.Empty<double>())).Titled("Training loss", "step", "loss");
    }

    public static string Render(DemoOptions o, DemoResult r)
    {
        var first = r.Scores[0].Prompt1;
        var body = new StringBuilder("<h1>wb demo: NSMC few-shot, IA3 vs LoRA vs QLoRA</h1>\n");
        body.Append("<p>").Append(WebUtility.HtmlEncode(
            $"Base model {Path.GetFullPath(o.ModelDir)}; {first.Samples} NSMC test items, {first.Shots} shots, " +
            $"{FewShotResult.ScoringName(o.Scoring)} scoring; each method trained {o.Steps} steps of {o.MicroBatchSize} blocks of {o.MaxLength} tokens " +
            $"(reviews and answers of {o.SftData} packed in a row). Best adapter: {r.Best}, merged into {r.MergedDir}. Accuracy with its 95% Wilson interval."))
            .Append("</p>\n");
        body.Append("<h2>Methods</h2>\n").Append(MethodsTable(r).ToHtml()).Append('\n');
        body.Append("<h2>Accuracy</h2>\n").Append(AccuracyTable(r).ToHtml()).Append('\n').Append(AccuracyChart(r).ToHtml()).Append('\n');
        body.Append("<h2>Training</h2>\n").Append(LossChart(r).ToHtml()).Append('\n');
        return HtmlReport.Page("wb demo", body.ToString(), "wb demo");
    }

    public static JsonObject Json(DemoResult r) => new()
    {
        ["methods"] = new JsonArray(r.Methods.Select(m => (JsonNode)new JsonObject
        {
            ["method"] = m.Method, ["trainable_parameters"] = m.TrainableParameters, ["total_parameters"] = m.TotalParameters,
            ["training_seconds"] = m.TrainingSeconds, ["inference_seconds"] = m.InferenceSeconds,
            ["final_loss"] = m.Losses.Count > 0 ? m.Losses[^1].Loss : null, ["adapter_dir"] = m.AdapterDir,
        }).ToArray()),
        ["accuracy"] = new JsonArray(r.Scores.Select(s => (JsonNode)new JsonObject
        {
            ["model"] = s.Model, ["prompt1"] = s.Prompt1.Accuracy, ["prompt2"] = s.Prompt2.Accuracy, ["samples"] = s.Prompt1.Samples,
        }).ToArray()),
        ["best"] = r.Best,
        ["merged_dir"] = r.MergedDir,
    };
}
