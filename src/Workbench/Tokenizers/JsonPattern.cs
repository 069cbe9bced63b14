using System.Text.Json;
using System.Text.RegularExpressions;

namespace Workbench.Tokenizers;

/// <summary>
/// The <c>{"String": ...}</c> or <c>{"Regex": ...}</c> pattern of tokenizer.json's Split and Replace.
/// Regexes are Oniguruma syntax in the file; the ones Hugging Face ships (\p{L}, \p{N}, \s, (?i:...),
/// (?!\S)) mean the same in .NET, except that .NET sees a character outside the BMP as two surrogates.
/// </summary>
public sealed class JsonPattern
{
    readonly string? literal;
    readonly Regex? regex;

    JsonPattern(string? literal, Regex? regex) { this.literal = literal; this.regex = regex; }

    public static JsonPattern Literal(string text) => new(text, null);

    public static JsonPattern FromJson(JsonElement e, string where)
    {
        if (e.TryGetProperty("String", out var s)) return new JsonPattern(s.GetString()!, null);
        if (e.TryGetProperty("Regex", out var r))
            return new JsonPattern(null, new Regex(r.GetString()!, RegexOptions.Compiled | RegexOptions.CultureInvariant));
        throw new FormatException($"tokenizer.json {where}: pattern must be {{\"String\"}} or {{\"Regex\"}}, got {e.GetRawText()}");
    }

    /// <summary>Non-overlapping matches of the pattern in <paramref name="text"/>, left to right, as (start, length).</summary>
    public IEnumerable<(int Start, int Length)> Matches(string text)
    {
        if (regex != null)
        {
            foreach (Match m in regex.Matches(text)) yield return (m.Index, m.Length);
            yield break;
        }
        if (literal!.Length == 0) yield break;
        for (int at = text.IndexOf(literal, StringComparison.Ordinal); at >= 0; at = text.IndexOf(literal, at + literal.Length, StringComparison.Ordinal))
            yield return (at, literal.Length);
    }

    public string Replace(string text, string content) =>
        regex != null ? regex.Replace(text, content.Replace("$", "$$")) : literal!.Length == 0 ? text : text.Replace(literal, content, StringComparison.Ordinal);
}
