using Workbench.Reports;

namespace Workbench.Tests.Reports;

public class TableTests
{
    [Fact]
    public void HtmlEscapesHeadersAndCellsAndRightAlignsNumbers()
    {
        var table = new Table("a<b", "value").AddRow("x & \"y\"", 0.1 + 0.2);
        string html = table.ToHtml();
        Assert.Contains("<th>a&lt;b</th>", html);
        Assert.Contains("<td>x &amp; &quot;y&quot;</td>", html);
        Assert.Contains("<td style=\"text-align:right\">0.3</td>", html);
        Assert.DoesNotContain("a<b", html);
    }

    [Fact]
    public void MarkdownEscapesPipesBackslashesAndLineBreaks()
    {
        var table = new Table("name", "n").AddRow("a|b\nc\\d", 3);
        Assert.Equal("| name | n |\n|---|---|\n| a\\|b<br>c\\\\d | 3 |\n", table.ToMarkdown());
        Assert.Equal(table.ToMarkdown(), table.ToString());
    }

    [Fact]
    public void CsvQuotesFieldsThatNeedItAndKeepsFullPrecision()
    {
        var table = new Table("text", "x").AddRow("he said \"hi\", ok", 0.1 + 0.2).AddRow("line\nbreak", null).AddRow("plain", 1e-7f);
        Assert.Equal(
            "text,x\r\n\"he said \"\"hi\"\", ok\",0.30000000000000004\r\n\"line\nbreak\",\r\nplain,1E-07\r\n",
            table.ToCsv());
    }

    [Fact]
    public void RowsMustMatchTheColumns()
    {
        var e = Assert.Throws<ArgumentException>(() => new Table("a", "b").AddRow(1));
        Assert.Contains("1 cells for 2 columns (a, b)", e.Message);
    }

    [Fact]
    public void FromTakesColumnsFromPublicProperties()
    {
        var table = Table.From(new[] { new { Step = 1, Loss = 2.5 }, new { Step = 2, Loss = 1.25 } });
        Assert.Equal(["Step", "Loss"], table.Columns);
        Assert.Equal("| Step | Loss |\n|---|---|\n| 1 | 2.5 |\n| 2 | 1.25 |\n", table.ToMarkdown());
    }
}
