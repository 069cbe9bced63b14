using System.Collections;
using System.Linq.Expressions;
using System.Reflection;
using Workbench.Reports;

namespace Workbench.Tests.Reports;

/// <summary>
/// Holds Table and Chart to the convention .NET Interactive's Formatter uses for types that do not reference it
/// (Formatter.TryRegisterFromConventionBasedFormatterSources in dotnet/interactive): the lookup below repeats its
/// reflection step by step, so a change that would break rendering in Polyglot Notebooks fails here.
/// </summary>
public class FormatterConventionTests
{
    [Theory]
    [InlineData(typeof(Table))]
    [InlineData(typeof(Chart))]
    public void ResultTypesCarryAFormatterSourceByConvention(Type type)
    {
        var attribute = Assert.Single(type.GetCustomAttributes(true), a => a.GetType().Name == "TypeFormatterSourceAttribute");
        var sourceType = Assert.IsAssignableFrom<Type>(attribute.GetType().GetProperty("FormatterSourceType")!.GetGetMethod()!.Invoke(attribute, null));
        var preferred = Assert.IsType<string[]>(attribute.GetType().GetProperty("PreferredMimeTypes")!.GetGetMethod()!.Invoke(attribute, null));
        Assert.Equal("text/html", preferred[0]);
        Assert.True(typeof(IHtmlRenderable).IsAssignableFrom(type));

        var source = Activator.CreateInstance(sourceType)!;
        var formatters = Assert.IsAssignableFrom<IEnumerable>(source.GetType().GetMethod("CreateTypeFormatters")!.Invoke(source, null));
        var mimeTypes = new List<string>();
        foreach (var formatter in formatters)
        {
            mimeTypes.Add((string)formatter.GetType().GetProperty("MimeType")!.GetGetMethod()!.Invoke(formatter, null)!);
            Assert.NotNull(Compile(formatter)); // their Expression.Call must bind Format(object, TextWriter) → bool
        }
        Assert.Equal(["text/html", "text/plain"], mimeTypes);
    }

    [Fact]
    public void HtmlFormatterWritesToHtmlAndPlainTextWritesToString()
    {
        var table = new Table("a").AddRow(1);
        var formatters = new HtmlFormatterSource().CreateTypeFormatters().ToArray();
        Assert.Equal(table.ToHtml(), Format(formatters[0], table));
        Assert.Equal(table.ToString(), Format(formatters[1], table));
        Assert.False(Compile(formatters[0])("not renderable", new StringWriter()));
    }

    private static string Format(object formatter, object value)
    {
        var writer = new StringWriter();
        Assert.True(Compile(formatter)(value, writer));
        return writer.ToString();
    }

    /// <summary>What .NET Interactive does with a convention-based formatter: GetMethod("Format") bound by expression.</summary>
    private static Func<object, TextWriter, bool> Compile(object formatter)
    {
        MethodInfo format = formatter.GetType().GetMethod("Format")!;
        var value = Expression.Parameter(typeof(object));
        var writer = Expression.Parameter(typeof(TextWriter));
        return Expression.Lambda<Func<object, TextWriter, bool>>(
            Expression.Call(Expression.Constant(formatter), format, value, writer), value, writer).Compile();
    }
}
