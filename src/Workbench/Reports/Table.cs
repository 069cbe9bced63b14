using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;

namespace Workbench.Reports;

/// <summary>
/// A small table of results: named columns and rows of cells. Renders to HTML (notebooks and reports),
/// Markdown (<see cref="ToString"/>) and CSV (RFC 4180). Floating-point cells show 6 significant digits in
/// HTML and Markdown and round-trip precision in CSV.
/// </summary>
public sealed class Table : IHtmlRenderable
{
    private readonly List<object?[]> _rows = [];

    public Table(params string[] columns)
    {
        if (columns.Length == 0) throw new ArgumentException("Table: at least one column is needed", nameof(columns));
        Columns = columns;
    }

    public IReadOnlyList<string> Columns { get; }

    public IReadOnlyList<IReadOnlyList<object?>> Rows => _rows;

    /// <summary>Appends a row; it must have one cell per column.</summary>
    public Table AddRow(params object?[] cells)
    {
        if (cells.Length != Columns.Count)
            throw new ArgumentException($"Table.AddRow: {cells.Length} cells for {Columns.Count} columns ({string.Join(", ", Columns)})", nameof(cells));
        _rows.Add(cells);
        return this;
    }

    /// <summary>One row per item, one column per public readable property (records, anonymous types).</summary>
    public static Table From<T>(IEnumerable<T> items)
    {
        var properties = typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.GetIndexParameters().Length == 0).ToArray();
        var table = new Table(properties.Select(p => p.Name).ToArray());
        foreach (var item in items) table.AddRow(properties.Select(p => p.GetValue(item)).ToArray());
        return table;
    }

    public string ToHtml()
    {
        var html = new StringBuilder("<table class=\"wb-table\">\n<thead><tr>");
        foreach (var column in Columns) html.Append("<th>").Append(WebUtility.HtmlEncode(column)).Append("</th>");
        html.Append("</tr></thead>\n<tbody>\n");
        foreach (var row in _rows)
        {
            html.Append("<tr>");
            foreach (var cell in row)
                html.Append(IsNumber(cell) ? "<td style=\"text-align:right\">" : "<td>")
                    .Append(WebUtility.HtmlEncode(Display(cell))).Append("</td>");
            html.Append("</tr>\n");
        }
        return html.Append("</tbody>\n</table>").ToString();
    }

    /// <summary>A GitHub-flavoured Markdown pipe table; '|' is escaped and line breaks become &lt;br&gt;.</summary>
    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.Append("| ").AppendJoin(" | ", Columns.Select(EscapeMarkdown)).Append(" |\n");
        md.Append('|').AppendJoin('|', Columns.Select(_ => "---")).Append("|\n");
        foreach (var row in _rows)
            md.Append("| ").AppendJoin(" | ", row.Select(c => EscapeMarkdown(Display(c)))).Append(" |\n");
        return md.ToString();
    }

    /// <summary>RFC 4180 CSV with a header line; fields holding ',', '"', CR or LF are quoted, quotes doubled.</summary>
    public string ToCsv()
    {
        var csv = new StringBuilder();
        csv.AppendJoin(',', Columns.Select(EscapeCsv)).Append("\r\n");
        foreach (var row in _rows)
            csv.AppendJoin(',', row.Select(c => EscapeCsv(RoundTrip(c)))).Append("\r\n");
        return csv.ToString();
    }

    public override string ToString() => ToMarkdown();

    private static bool IsNumber(object? cell) => cell is sbyte or byte or short or ushort or int or uint or long or ulong
        or float or double or decimal or Half;

    private static string Display(object? cell) => cell switch
    {
        null => "",
        double d => d.ToString("G6", CultureInfo.InvariantCulture),
        float f => f.ToString("G6", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => cell.ToString() ?? "",
    };

    private static string RoundTrip(object? cell) => cell switch
    {
        null => "",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => cell.ToString() ?? "",
    };

    private static string EscapeMarkdown(string text) =>
        text.Replace("\\", "\\\\").Replace("|", "\\|").Replace("\r\n", "<br>").Replace("\n", "<br>").Replace("\r", "<br>");

    private static string EscapeCsv(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : "\"" + field.Replace("\"", "\"\"") + "\"";
}
