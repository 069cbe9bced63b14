using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive.Documents;
using Workbench.Notebooks.Reports;
using Workbench.Reports;
using Workbench.Tests.Support;

namespace Workbench.Tests.Notebooks;

[Collection("Console")]
public class HtmlReportTests
{
    /// <summary>An executed notebook as the runner writes it: markdown, a stream, an HTML table, a chart, a plain value.</summary>
    private static InteractiveDocument Executed(params InteractiveDocumentOutputElement[] outputs)
    {
        var notebook = NotebookKit.Of("# Hello, Workbench\n\n## 3. Prompt 1: `문장: {text}\\n감정:`", "Console.WriteLine($\"{title}\");");
        notebook.Elements[1].ExecutionOrder = 1;
        notebook.Elements[1].Outputs.AddRange(outputs);
        return notebook;
    }

    private static DisplayElement Html(IHtmlRenderable value) =>
        new(new Dictionary<string, object> { ["text/html"] = value.ToHtml(), ["text/plain"] = value.ToString()! });

    [Fact]
    public void ReportIsSelfContainedWithPlotlyInline()
    {
        var notebook = Executed(new TextElement("Hello: 20 steps\n"), Html(new Table("step", "loss").AddRow(0, 4.0)),
            Html(Chart.Line(new[] { 1.0, 2.0 }, "loss")), new ReturnValueElement { Data = { ["text/plain"] = "20" } });
        string html = HtmlReport.Render(notebook, "Hello <report>");
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains("<title>Hello &lt;report&gt;</title>", html);
        Assert.Contains("* plotly.js v4.1.2", html);
        Assert.Contains("Licensed under the MIT license", html);
        Assert.DoesNotMatch(new Regex("<(script|link|img)[^>]+(src|href)=\"https?:"), html);
        Assert.Contains("<h1 id=\"hello-workbench\">Hello, Workbench</h1>", html);
        Assert.Contains("<pre class=\"output stream stdout\">Hello: 20 steps", html);
        Assert.Contains("<table class=\"wb-table\">", html);
        Assert.Contains("Plotly.newPlot(", html);
        Assert.Contains("Console.WriteLine($&quot;{title}", html); // code is escaped
        Assert.Contains("<pre class=\"output text\">20</pre>", html);
    }

    [Fact]
    public void HeadingsKeepBracesInCodeSpans()
    {
        string html = HtmlReport.Render(Executed(), "t");
        Assert.Contains("3. Prompt 1: <code>문장: {text}\\n감정:</code></h2>", html);
    }

    [Fact]
    public void ErrorsAreShownEscaped()
    {
        string html = HtmlReport.Render(Executed(new ErrorElement("<bad>", "Error", ["at x"])), "t");
        Assert.Contains("<pre class=\"output error\">Error: &lt;bad&gt;\nat x</pre>", html);
    }

    /// <summary>
    /// Opens a report in headless Chromium with no network and checks plotly drew: an svg.main-svg in the DOM, and
    /// the screenshot shows the first trace's colour (#1f77b4). Returns early when chromium is not installed
    /// (.ci/run installs it).
    /// </summary>
    [Fact]
    public void ChromiumDrawsTheChartOffline()
    {
        string? chromium = FindChromium();
        if (chromium is null)
        {
            Console.Error.WriteLine("ChromiumDrawsTheChartOffline: chromium not found; skipped (apt-get install -y chromium)");
            return;
        }
        string dir = Directory.CreateTempSubdirectory("wb-report-").FullName;
        try
        {
            string page = Path.Combine(dir, "report.html");
            HtmlReport.Save(Executed(Html(Chart.Line(new[] { 1.0, 4.0, 2.0, 5.0, 3.0 }, name: "y"))), "chart", page);
            string url = new Uri(page).AbsoluteUri;

            string dom = RunChromium(chromium, dir, "--dump-dom", url);
            Assert.Matches("<svg class=\"main-svg\"", dom);
            Assert.Contains("class=\"scatterlayer", dom);

            string png = Path.Combine(dir, "shot.png");
            RunChromium(chromium, dir, $"--screenshot={png}", "--window-size=1000,800", url);
            var pixels = Png.ReadRgb(png);
            Assert.True(pixels.Distinct().Count() > 1, "the screenshot is blank");
            int traceColoured = pixels.Count(p => Math.Abs(p.R - 0x1f) < 12 && Math.Abs(p.G - 0x77) < 12 && Math.Abs(p.B - 0xb4) < 12);
            Assert.True(traceColoured > 50, $"only {traceColoured} pixels of plotly's trace colour #1f77b4");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static string? FindChromium() =>
        new[] { "chromium", "chromium-browser", "google-chrome" }
            .SelectMany(name => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, name)))
            .FirstOrDefault(File.Exists);

    private static string RunChromium(string chromium, string profileDir, params string[] args)
    {
        var start = new ProcessStartInfo(chromium)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[]
                 {
                     "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions",
                     "--virtual-time-budget=10000", $"--user-data-dir={Path.Combine(profileDir, "profile")}",
                     "--proxy-server=127.0.0.1:9", // offline: any network request would fail
                 }.Concat(args))
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("chromium did not finish in 120 s");
        }
        Assert.True(process.ExitCode == 0, $"chromium exited {process.ExitCode}: {stderr.Result}");
        return stdout;
    }
}
