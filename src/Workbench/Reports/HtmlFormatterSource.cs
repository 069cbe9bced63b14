namespace Workbench.Reports;

/// <summary>
/// The formatter source named by <see cref="TypeFormatterSourceAttribute"/> on Workbench result types: an HTML
/// formatter that writes <see cref="IHtmlRenderable.ToHtml"/> and a plain-text one that writes <c>ToString()</c>.
/// .NET Interactive calls <see cref="CreateTypeFormatters"/> by name, so its shape (a public parameterless
/// constructor, one public method of that name) is a contract.
/// </summary>
public sealed class HtmlFormatterSource
{
    public IEnumerable<object> CreateTypeFormatters() =>
        [new RenderableFormatter("text/html"), new RenderableFormatter("text/plain")];

    /// <summary>One MIME type's formatter; .NET Interactive finds <see cref="MimeType"/> and <see cref="Format"/> by name.</summary>
    public sealed class RenderableFormatter(string mimeType)
    {
        public string MimeType { get; } = mimeType;

        /// <summary>Writes <paramref name="instance"/> in <see cref="MimeType"/>; false when it cannot.</summary>
        public bool Format(object instance, TextWriter writer)
        {
            if (MimeType == "text/html")
            {
                if (instance is not IHtmlRenderable html) return false;
                writer.Write(html.ToHtml());
                return true;
            }
            writer.Write(instance?.ToString());
            return true;
        }
    }
}
