namespace Workbench.Reports;

/// <summary>
/// Names the formatter source of a type, by the convention .NET Interactive follows for libraries that do not
/// reference it: its <c>Formatter</c> looks for an attribute whose class is called <c>TypeFormatterSourceAttribute</c>
/// (any namespace), reads <see cref="FormatterSourceType"/> and <see cref="PreferredMimeTypes"/> by reflection,
/// instantiates the source and calls its <c>CreateTypeFormatters()</c>. Each formatter it returns exposes
/// <c>string MimeType</c> and <c>bool Format(object, TextWriter)</c> (see <see cref="HtmlFormatterSource"/>).
/// Nothing here depends on Microsoft.DotNet.Interactive; the names are the contract.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, AllowMultiple = false, Inherited = true)]
public sealed class TypeFormatterSourceAttribute(Type formatterSourceType) : Attribute
{
    public Type FormatterSourceType { get; } = formatterSourceType;

    /// <summary>MIME types .NET Interactive should prefer for the type, most preferred first.</summary>
    public string[]? PreferredMimeTypes { get; set; }
}
