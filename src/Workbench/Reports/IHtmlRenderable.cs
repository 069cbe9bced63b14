namespace Workbench.Reports;

/// <summary>
/// A result object that renders itself as an HTML fragment. <see cref="ResultViews"/> turns every library result
/// into one; notebooks show it as <c>text/html</c> beside its <c>ToString()</c> as <c>text/plain</c>.
/// </summary>
public interface IHtmlRenderable
{
    /// <summary>A self-contained HTML fragment (no &lt;html&gt;/&lt;body&gt;).</summary>
    string ToHtml();
}
