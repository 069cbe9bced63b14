using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Reports;

namespace Workbench.Notebooks.Reports;

/// <summary>
/// A self-contained HTML report of a run folder, in the page style of <see cref="HtmlReport"/> (plotly.js inline):
/// <list type="bullet">
/// <item><c>train_log.jsonl</c> — one JSON object per logged step (<c>step</c>, <c>loss</c>, <c>lr</c>, ...): a
///   line chart of loss, of the learning rate, and of every other numeric field, against step;</item>
/// <item><c>train_summary.json</c> — one JSON object: a table of its fields;</item>
/// <item><c>eval_*.json</c> — <c>wb eval fewshot --out</c> results: an accuracy bar chart with 95% intervals and a table.</item>
/// </list>
/// Any of the three may be missing, not all.
/// </summary>
public static class RunReport
{
    public const string TrainLog = "train_log.jsonl", TrainSummary = "train_summary.json", EvalPattern = "eval_*.json";

    public static string Render(string runDirectory)
    {
        if (!Directory.Exists(runDirectory)) throw new DirectoryNotFoundException($"{runDirectory}: no such run folder");
        string log = Path.Combine(runDirectory, TrainLog), summary = Path.Combine(runDirectory, TrainSummary);
        var evals = Directory.GetFiles(runDirectory, EvalPattern).Order(StringComparer.Ordinal).ToList();
        if (!File.Exists(log) && !File.Exists(summary) && evals.Count == 0)
            throw new InvalidDataException($"{runDirectory}: nothing to report (no {TrainLog}, {TrainSummary} or {EvalPattern})");

        string name = Path.GetFileName(Path.GetFullPath(runDirectory).TrimEnd(Path.DirectorySeparatorChar));
        var body = new StringBuilder($"<h1>Run {WebUtility.HtmlEncode(name)}</h1>\n");
        if (File.Exists(log)) Section(body, "Training", TrainingCharts(ReadLog(log)));
        if (File.Exists(summary)) Section(body, "Training summary", [ResultViews.Fields(ReadObject(summary))]);
        if (evals.Count > 0) Section(body, "Evaluation", EvalParts(evals.Select(f => (Path.GetFileName(f), ReadObject(f))).ToList()));
        return HtmlReport.Page($"Run {name}", body.ToString(), "wb report");
    }

    public static void Save(string runDirectory, string htmlPath) => AtomicFile.WriteAllText(htmlPath, Render(runDirectory));

    /// <summary>The log's records in file order; blank lines are skipped, anything else not a JSON object names its line.</summary>
    public static List<JsonObject> ReadLog(string path)
    {
        var records = new List<JsonObject>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (line.Trim().Length == 0) continue;
            try { records.Add(JsonNode.Parse(line) as JsonObject ?? throw new InvalidDataException($"{path}:{lineNo}: expected a JSON object per line")); }
            catch (JsonException e) { throw new InvalidDataException($"{path}:{lineNo}: malformed JSON: {e.Message}"); }
        }
        return records;
    }

    /// <summary>Loss, learning rate, then each other numeric field, each against step (the record's index when it has none).</summary>
    public static List<IHtmlRenderable> TrainingCharts(IReadOnlyList<JsonObject> log)
    {
        var fields = log.SelectMany(r => r.Where(p => p.Key != "step" && Number(p.Value) is not null).Select(p => p.Key)).Distinct().ToList();
        var ordered = new[] { "loss", "lr" }.Where(fields.Contains).Concat(fields.Where(f => f is not ("loss" or "lr")));
        var charts = new List<IHtmlRenderable>();
        foreach (var field in ordered)
        {
            var points = log.Select((r, i) => (Step: Number(r["step"]) ?? i, Value: Number(r[field]))).Where(p => p.Value is not null).ToList();
            string title = field switch { "loss" => "Training loss", "lr" => "Learning rate", _ => field };
            charts.Add(Chart.Line(points.Select(p => p.Step), points.Select(p => p.Value!.Value), field).Titled(title, "step", field));
        }
        return charts;
    }

    /// <summary>An accuracy bar chart (error bars: the 95% interval) and a table, one bar and row per result file.</summary>
    public static List<IHtmlRenderable> EvalParts(IReadOnlyList<(string File, JsonObject Result)> results)
    {
        string Str(JsonObject r, string key) => r[key] is JsonValue v && v.TryGetValue(out string? s) ? s : r[key]?.ToJsonString() ?? "";
        var labels = results.Select(r => $"{Str(r.Result, "task")} {Str(r.Result, "prompt")} {Str(r.Result, "scoring")}").ToList();
        var accuracy = results.Select(r => Number(r.Result["accuracy"]) ?? double.NaN).ToList();
        var ci = results.Select(r => r.Result["ci95"] is JsonArray { Count: 2 } a ? (Number(a[0]) ?? double.NaN, Number(a[1]) ?? double.NaN) : (double.NaN, double.NaN)).ToList();

        var chart = new Chart().AddBar(labels, accuracy, "accuracy", ci).Titled("Few-shot accuracy (95% Wilson interval)", null, "accuracy");
        chart.Layout["yaxis"]!["range"] = new JsonArray(0, 1);

        var table = new Table("file", "task", "prompt", "scoring", "shots", "samples", "accuracy", "ci95 low", "ci95 high", "acc_norm",
            "invalid", "truncated", "ms/item", "tokens/s", "wall s");
        for (int i = 0; i < results.Count; i++)
        {
            var r = results[i].Result;
            table.AddRow(results[i].File, Str(r, "task"), Str(r, "prompt"), Str(r, "scoring"), Number(r["shots"]), Number(r["samples"]), accuracy[i],
                ci[i].Item1, ci[i].Item2, Number(r["acc_norm"]), Number(r["invalid"]), Number(r["truncated"]), Number(r["mean_latency_ms"]),
                Number(r["tokens_per_second"]), Number(r["wall_seconds"]));
        }
        return [chart, table];
    }

    private static void Section(StringBuilder body, string heading, IEnumerable<IHtmlRenderable> parts)
    {
        body.Append("<section class=\"cell\">\n<h2>").Append(WebUtility.HtmlEncode(heading)).Append("</h2>\n");
        foreach (var part in parts) body.Append("<div class=\"output html\">\n").Append(part.ToHtml()).Append("\n</div>\n");
        body.Append("</section>\n");
    }

    private static JsonObject ReadObject(string path)
    {
        try { return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: expected a JSON object"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: malformed JSON: {e.Message}"); }
    }

    private static double? Number(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<double>() : null;
}
