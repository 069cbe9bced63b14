using System.Numerics;
using System.Text.Json.Nodes;

namespace Workbench.Reports;

/// <summary>
/// A Plotly figure: <see cref="Data"/> (the traces) and <see cref="Layout"/> as JSON, exactly what
/// <c>Plotly.newPlot(div, data, layout)</c> takes (https://plotly.com/javascript/reference/).
/// <see cref="ToHtml"/> draws it with the page's <c>Plotly</c> when there is one (Workbench HTML reports embed
/// plotly.js) and otherwise loads plotly.js from jsDelivr first (notebook outputs): once per page, however many
/// charts render while it loads (VS Code renders a reopened notebook's outputs at once).
/// </summary>
public sealed class Chart : IHtmlRenderable
{
    /// <summary>Where an output cell without a <c>Plotly</c> global loads it from; the version embedded in reports.</summary>
    public const string PlotlyCdnUrl = "https://cdn.jsdelivr.net/npm/plotly.js-dist-min@4.1.2/plotly.min.js";

    public JsonArray Data { get; } = [];

    public JsonObject Layout { get; } = [];

    /// <summary>A line chart of y against x.</summary>
    public static Chart Line<TX, TY>(IEnumerable<TX> x, IEnumerable<TY> y, string? name = null)
        where TX : INumberBase<TX> where TY : INumberBase<TY> =>
        new Chart().AddLine(x, y, name);

    /// <summary>A line chart of y against its index 0, 1, 2, ...</summary>
    public static Chart Line<TY>(IEnumerable<TY> y, string? name = null) where TY : INumberBase<TY>
    {
        var values = Numbers(y);
        return new Chart().AddTrace(Trace("scatter", name, ("mode", "lines"),
            ("x", new JsonArray(Enumerable.Range(0, values.Count).Select(i => (JsonNode)i).ToArray())), ("y", values)));
    }

    /// <summary>A bar chart: one bar per category.</summary>
    public static Chart Bar<T>(IEnumerable<string> categories, IEnumerable<T> values, string? name = null)
        where T : INumberBase<T> =>
        new Chart().AddBar(categories, values, name);

    /// <summary>A histogram of values; <paramref name="bins"/> caps the number of bins (Plotly's nbinsx), else Plotly picks.</summary>
    public static Chart Histogram<T>(IEnumerable<T> values, int? bins = null, string? name = null) where T : INumberBase<T>
    {
        var trace = Trace("histogram", name, ("x", Numbers(values)));
        if (bins is { } n) trace["nbinsx"] = n;
        return new Chart().AddTrace(trace);
    }

    /// <summary>Adds a line trace (y against x) to this chart.</summary>
    public Chart AddLine<TX, TY>(IEnumerable<TX> x, IEnumerable<TY> y, string? name = null)
        where TX : INumberBase<TX> where TY : INumberBase<TY>
    {
        var xs = Numbers(x); var ys = Numbers(y);
        if (xs.Count != ys.Count) throw new ArgumentException($"Chart.AddLine: {xs.Count} x values but {ys.Count} y values");
        return AddTrace(Trace("scatter", name, ("mode", "lines"), ("x", xs), ("y", ys)));
    }

    /// <summary>
    /// Adds a bar trace, one bar per category (traces sharing categories stand side by side); with
    /// <paramref name="interval"/>, each bar gets an error bar from its low to its high end (e.g. a confidence interval).
    /// </summary>
    public Chart AddBar<T>(IEnumerable<string> categories, IEnumerable<T> values, string? name = null,
        IReadOnlyList<(double Low, double High)>? interval = null) where T : INumberBase<T>
    {
        var xs = categories.ToList(); var ys = values.Select(v => double.CreateChecked(v)).ToList();
        if (xs.Count != ys.Count) throw new ArgumentException($"Chart.AddBar: {xs.Count} categories but {ys.Count} values");
        var trace = Trace("bar", name, ("x", new JsonArray(xs.Select(c => (JsonNode?)c).ToArray())), ("y", Numbers(ys)));
        if (interval is not null)
        {
            if (interval.Count != ys.Count) throw new ArgumentException($"Chart.AddBar: {ys.Count} values but {interval.Count} intervals");
            trace["error_y"] = new JsonObject
            {
                ["type"] = "data", ["symmetric"] = false,
                ["array"] = Numbers(ys.Zip(interval, (y, i) => i.High - y)),
                ["arrayminus"] = Numbers(ys.Zip(interval, (y, i) => y - i.Low)),
            };
        }
        return AddTrace(trace);
    }

    /// <summary>Adds any Plotly trace object.</summary>
    public Chart AddTrace(JsonObject trace)
    {
        Data.Add(trace);
        return this;
    }

    /// <summary>Sets the chart title and, when given, the axis titles.</summary>
    public Chart Titled(string title, string? xTitle = null, string? yTitle = null)
    {
        Layout["title"] = new JsonObject { ["text"] = title };
        if (xTitle is not null) Layout["xaxis"] = new JsonObject { ["title"] = new JsonObject { ["text"] = xTitle } };
        if (yTitle is not null) Layout["yaxis"] = new JsonObject { ["title"] = new JsonObject { ["text"] = yTitle } };
        return this;
    }

    /// <summary>The figure as Plotly JSON: <c>{"data": [...], "layout": {...}}</c>.</summary>
    public string ToJson() => new JsonObject { ["data"] = Data.DeepClone(), ["layout"] = Layout.DeepClone() }.ToJsonString();

    public string ToHtml()
    {
        // JsonNode.ToJsonString escapes <, > and & (\u003C ...), so the JSON cannot close the <script> element.
        string id = "wb-chart-" + Guid.NewGuid().ToString("N")[..12];
        return $$"""
            <div id="{{id}}" class="wb-chart" style="width:100%;max-width:900px;height:420px"></div>
            <script>
            (function () {
              var draw = function () { Plotly.newPlot("{{id}}", {{Data.ToJsonString()}}, {{Layout.ToJsonString()}}, {"responsive": true}); };
              if (window.Plotly) { draw(); return; }
              window.wbPlotly = window.wbPlotly || new Promise(function (loaded, failed) {
                var s = document.createElement("script"); s.src = "{{PlotlyCdnUrl}}"; s.onload = loaded; s.onerror = failed; document.head.appendChild(s);
              });
              window.wbPlotly.then(draw);
            })();
            </script>
            """;
    }

    public override string ToString() =>
        $"Chart({string.Join(", ", Data.Select(t => $"{t?["type"]} '{t?["name"]}' {t?["x"]?.AsArray().Count ?? 0} points"))})";

    private static JsonObject Trace(string type, string? name, params (string Key, JsonNode? Value)[] fields)
    {
        var trace = new JsonObject { ["type"] = type };
        if (name is not null) trace["name"] = name;
        foreach (var (key, value) in fields) trace[key] = value;
        return trace;
    }

    private static JsonArray Numbers<T>(IEnumerable<T> values) where T : INumberBase<T> =>
        new(values.Select(v => double.CreateChecked(v))
            .Select(d => double.IsFinite(d) ? (JsonNode?)JsonValue.Create(d) : null).ToArray()); // NaN/∞ → null: a gap
}
