using System.Net;
using System.Text;
using Markdig;
using Markdig.Extensions.GenericAttributes;
using Microsoft.DotNet.Interactive.Documents;

namespace Workbench.Notebooks.Reports;

/// <summary>
/// A self-contained HTML page of an executed notebook: markdown cells rendered with Markdig, code cells with
/// their outputs (HTML outputs such as tables and charts as they are, text in &lt;pre&gt;, images inline), and
/// plotly.js embedded inline, so the page needs no network to open or to draw its charts.
/// </summary>
public static class HtmlReport
{
    private static readonly MarkdownPipeline Markdown = Pipeline();

    private static readonly Lazy<string> Plotly = new(() =>
    {
        using var stream = typeof(HtmlReport).Assembly.GetManifestResourceStream("plotly.min.js")
            ?? throw new InvalidOperationException("plotly.min.js is missing from Workbench.Notebooks' resources");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>The plotly.js bundle embedded in reports (plotly.js-dist-min 4.1.2, MIT).</summary>
    public static string PlotlyJs => Plotly.Value;

    public static string Render(InteractiveDocument notebook, string title)
    {
        var body = new StringBuilder();
        foreach (var cell in notebook.Elements)
        {
            if (NotebookFile.IsCode(cell))
                AppendCode(body, cell);
            else
                body.Append("<section class=\"cell markdown\">\n").Append(Markdig.Markdown.ToHtml(cell.Contents, Markdown)).Append("</section>\n");
        }
        return Page(title, body.ToString(), "wb notebook run");
    }

    /// <summary>A complete page around <paramref name="bodyHtml"/>: the report's style and plotly.js inline.</summary>
    public static string Page(string title, string bodyHtml, string generator)
    {
        var html = new StringBuilder();
        html.Append($"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="Workbench {WebUtility.HtmlEncode(generator)}">
            <title>{WebUtility.HtmlEncode(title)}</title>
            <style>{Style}</style>
            <script>

            """);
        html.Append(PlotlyJs).Append("\n</script>\n</head>\n<body>\n<main>\n").Append(bodyHtml);
        return html.Append("</main>\n</body>\n</html>\n").ToString();
    }

    /// <summary>Renders and writes the report atomically.</summary>
    public static void Save(InteractiveDocument notebook, string title, string path) => AtomicFile.WriteAllText(path, Render(notebook, title));

    /// <summary>
    /// Markdig's advanced extensions without generic attributes, which read a heading's trailing <c>{...}</c> as
    /// attributes even inside a code span ("## Prompt 1: `문장: {text}\n감정:`" lost its end). Jupyter and VS Code
    /// have no such syntax either.
    /// </summary>
    private static MarkdownPipeline Pipeline()
    {
        var builder = new MarkdownPipelineBuilder().UseAdvancedExtensions();
        builder.Extensions.RemoveAll(e => e is GenericAttributesExtension);
        return builder.Build();
    }

    private static void AppendCode(StringBuilder html, InteractiveDocumentElement cell)
    {
        string prompt = cell.ExecutionOrder > 0 ? $"[{cell.ExecutionOrder}]" : "[ ]";
        html.Append("<section class=\"cell code\">\n<div class=\"prompt\">").Append(prompt).Append("</div>\n")
            .Append("<pre class=\"source\"><code class=\"language-csharp\">").Append(WebUtility.HtmlEncode(cell.Contents)).Append("</code></pre>\n");
        foreach (var output in cell.Outputs) AppendOutput(html, output);
        html.Append("</section>\n");
    }

    private static void AppendOutput(StringBuilder html, InteractiveDocumentOutputElement output)
    {
        switch (output)
        {
            case TextElement stream:
                string name = stream.Name == "stderr" ? "stderr" : "stdout";
                html.Append($"<pre class=\"output stream {name}\">").Append(WebUtility.HtmlEncode(stream.Text)).Append("</pre>\n");
                break;
            case DisplayElement or ReturnValueElement:
                var data = output is DisplayElement d ? d.Data : ((ReturnValueElement)output).Data;
                if (data.TryGetValue("text/html", out var fragment))
                    html.Append("<div class=\"output html\">\n").Append(NotebookFile.Text(fragment)).Append("\n</div>\n");
                else if (data.TryGetValue("image/png", out var png))
                    html.Append("<div class=\"output image\"><img alt=\"\" src=\"data:image/png;base64,").Append(NotebookFile.Text(png).Trim()).Append("\"></div>\n");
                else if (data.TryGetValue("text/plain", out var text))
                    html.Append("<pre class=\"output text\">").Append(WebUtility.HtmlEncode(NotebookFile.Text(text))).Append("</pre>\n");
                break;
            case ErrorElement error:
                html.Append("<pre class=\"output error\">")
                    .Append(WebUtility.HtmlEncode($"{error.ErrorName}: {error.ErrorValue}\n{string.Join("\n", error.StackTrace)}")).Append("</pre>\n");
                break;
        }
    }

    private const string Style = """
        body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #fafafa; color: #222; }
        main { max-width: 1000px; margin: 0 auto; padding: 1.5rem; }
        .cell { margin: 1rem 0; }
        .code { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 0.5rem 0.75rem; }
        .prompt { color: #888; font: 0.8rem monospace; }
        pre { overflow-x: auto; font: 0.85rem/1.4 ui-monospace, "Cascadia Code", Menlo, monospace; margin: 0.4rem 0; }
        pre.source { background: #f5f7fa; padding: 0.5rem; border-radius: 4px; }
        pre.stderr { color: #a35200; }
        pre.error { color: #b00020; background: #fff0f0; padding: 0.5rem; }
        table.wb-table { border-collapse: collapse; margin: 0.4rem 0; font-size: 0.9rem; }
        table.wb-table th, table.wb-table td { border: 1px solid #ccc; padding: 0.2rem 0.6rem; }
        table.wb-table th { background: #f0f0f0; }
        """;
}
