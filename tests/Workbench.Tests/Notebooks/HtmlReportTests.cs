using System.Diagnostics;
using System.Text.RegularExpressions;
using Workbench.Notebooks.Ipynb;
using Workbench.Notebooks.Reports;
using Workbench.Tests.Support;

namespace Workbench.Tests.Notebooks;

[Collection("Console")]
public class HtmlReportTests
{
    [Fact]
    public void Report_is_self_contained_with_plotly_inline()
    {
        var result = NotebookKit.Run(NotebookKit.Hello());
        string html = HtmlReport.Render(result.Executed, "Hello <report>");
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
    public void Errors_are_shown_escaped()
    {
        var result = NotebookKit.Run(NotebookKit.Of("throw new Exception(\"<bad>\");"));
        string html = HtmlReport.Render(result.Executed, "t");
        Assert.Contains("<pre class=\"output error\">Exception: &lt;bad&gt;", html);
    }

    /// <summary>
    /// Opens a report in headless Chromium with no network and checks plotly drew: an svg.main-svg in the DOM, and
    /// the screenshot shows the first trace's colour (#1f77b4). Returns early when chromium is not installed
    /// (.ci/run installs it).
    /// </summary>
    [Fact]
    public void Chromium_draws_the_chart_offline()
    {
        string? chromium = FindChromium();
        if (chromium is null)
        {
            Console.Error.WriteLine("Chromium_draws_the_chart_offline: chromium not found; skipped (apt-get install -y chromium)");
            return;
        }
        string dir = Directory.CreateTempSubdirectory("wb-report-").FullName;
        try
        {
            var result = NotebookKit.Run(NotebookKit.Of("Workbench.Reports.Chart.Line(new[] { 1.0, 4.0, 2.0, 5.0, 3.0 }, name: \"y\")"));
            string page = Path.Combine(dir, "report.html");
            HtmlReport.Save(result.Executed, "chart", page);
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
