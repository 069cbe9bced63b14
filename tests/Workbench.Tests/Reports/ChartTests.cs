using System.Text.Json.Nodes;
using Workbench.Reports;

namespace Workbench.Tests.Reports;

public class ChartTests
{
    [Fact]
    public void LineOfValuesPlotsThemAgainstTheirIndex()
    {
        var chart = Chart.Line(new[] { 3f, 1f, 2f }, name: "loss").Titled("Loss", "step", "loss");
        var figure = JsonNode.Parse(chart.ToJson())!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            {"data": [{"type": "scatter", "name": "loss", "mode": "lines", "x": [0, 1, 2], "y": [3, 1, 2]}],
             "layout": {"title": {"text": "Loss"}, "xaxis": {"title": {"text": "step"}}, "yaxis": {"title": {"text": "loss"}}}}
            """), figure), figure.ToJsonString());
    }

    [Fact]
    public void LineAgainstXAndAddedLinesShareTheFigure()
    {
        var chart = Chart.Line(new[] { 1, 2 }, new[] { 0.5, 0.25 }, "train").AddLine(new[] { 1, 2 }, new[] { 0.6, 0.4 }, "eval");
        Assert.Equal(2, chart.Data.Count);
        Assert.Equal("eval", chart.Data[1]!["name"]!.GetValue<string>());
        Assert.Equal(0.4, chart.Data[1]!["y"]![1]!.GetValue<double>());
        Assert.Throws<ArgumentException>(() => Chart.Line(new[] { 1, 2 }, new[] { 1.0 }));
    }

    [Fact]
    public void BarAndHistogramTraces()
    {
        var bar = Chart.Bar(["lora", "ia3"], new[] { 0.71, 0.69 });
        Assert.Equal("bar", bar.Data[0]!["type"]!.GetValue<string>());
        Assert.Equal("ia3", bar.Data[0]!["x"]![1]!.GetValue<string>());

        var histogram = Chart.Histogram(new[] { 1.0, 2.0, double.NaN }, bins: 10);
        Assert.Equal("histogram", histogram.Data[0]!["type"]!.GetValue<string>());
        Assert.Equal(10, histogram.Data[0]!["nbinsx"]!.GetValue<int>());
        Assert.Null(histogram.Data[0]!["x"]![2]); // NaN becomes a gap (null), which JSON can carry
    }

    [Fact]
    public void BarsSideBySideCarryTheirIntervalsAsErrorBars()
    {
        var chart = new Chart()
            .AddBar(["base", "lora"], new[] { 0.5, 0.75 }, "prompt 1", [(0.4, 0.55), (0.7, 0.8)])
            .AddBar(["base", "lora"], new[] { 0.5, 0.8 }, "prompt 2");
        var error = chart.Data[0]!["error_y"]!;
        Assert.False(error["symmetric"]!.GetValue<bool>());
        Assert.Equal(0.05, error["array"]![1]!.GetValue<double>(), 12);        // high − value
        Assert.Equal(0.1, error["arrayminus"]![0]!.GetValue<double>(), 12);    // value − low
        Assert.Null(chart.Data[1]!["error_y"]);
        Assert.Throws<ArgumentException>(() => new Chart().AddBar(["a"], new[] { 1.0, 2.0 }));
        Assert.Throws<ArgumentException>(() => new Chart().AddBar(["a"], new[] { 1.0 }, null, [(0.0, 1.0), (0.0, 1.0)]));
    }

    [Fact]
    public void HtmlDrawsWithPlotlyAndCannotCloseItsScriptEarly()
    {
        string html = Chart.Line(new[] { 1.0 }).Titled("</script><b>x</b>").ToHtml();
        Assert.Contains("Plotly.newPlot(\"wb-chart-", html);
        Assert.Contains(Chart.PlotlyCdnUrl, html); // only used where the page has no Plotly of its own
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(html, "</script>"));
        Assert.Contains("\\u003C/script\\u003E", html);
    }
}
