namespace Workbench.Reports;

/// <summary>
/// A result object that renders itself as an HTML fragment: the Workbench notebook runner and HTML report
/// show it as <c>text/html</c>. For Polyglot Notebooks (.NET Interactive) to do the same, the type also carries
/// <c>[TypeFormatterSource(typeof(HtmlFormatterSource), PreferredMimeTypes = ["text/html"])]</c>: the attribute
/// is not inherited from an interface, so each implementing class (or a base class) carries it.
/// </summary>
public interface IHtmlRenderable
{
    /// <summary>A self-contained HTML fragment (no &lt;html&gt;/&lt;body&gt;).</summary>
    string ToHtml();
}
