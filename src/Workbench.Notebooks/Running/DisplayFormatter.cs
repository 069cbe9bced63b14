using System.Collections;
using System.Globalization;
using Workbench.Reports;

namespace Workbench.Notebooks.Running;

/// <summary>
/// Turns a displayed value into a MIME bundle: <see cref="IHtmlRenderable"/> objects (Table, Chart, library
/// results) as text/html plus text/plain, everything else as text/plain in .NET Interactive's style
/// (sequences as "[ a, b, c ]", null as "&lt;null&gt;").
/// </summary>
public static class DisplayFormatter
{
    private const int SequenceLimit = 20;

    public static Dictionary<string, string> Format(object? value)
    {
        var bundle = new Dictionary<string, string>();
        if (value is IHtmlRenderable html) bundle["text/html"] = html.ToHtml();
        bundle["text/plain"] = PlainText(value);
        return bundle;
    }

    public static string PlainText(object? value) => value switch
    {
        null => "<null>",
        string s => s,
        IHtmlRenderable => value.ToString() ?? "",
        IDictionary dictionary => Sequence(dictionary.Cast<DictionaryEntry>().Select(e => $"{PlainText(e.Key)}: {PlainText(e.Value)}")),
        IEnumerable sequence => Sequence(sequence.Cast<object?>().Select(PlainText)),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string Sequence(IEnumerable<string> items)
    {
        var shown = items.Take(SequenceLimit + 1).ToList();
        string more = shown.Count > SequenceLimit ? " ... (more)" : "";
        return "[ " + string.Join(", ", shown.Take(SequenceLimit)) + more + " ]";
    }
}
