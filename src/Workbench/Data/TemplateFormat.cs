using System.Text;

namespace Workbench.Data;

/// <summary>
/// A format string with <c>{field}</c> placeholders, <c>{{</c>/<c>}}</c> for literal braces, and at most one
/// split marker <c>{|}</c> that divides the rendered text into the prompt (before) and the completion (after).
/// Example: <c>"### 질문: {instruction}\n\n### 답변:{|} {output}"</c>.
/// </summary>
public sealed class TemplateFormat
{
    public const string SplitMarker = "{|}";

    abstract record Segment;
    sealed record Literal(string Text) : Segment;
    sealed record Field(string Name) : Segment;
    sealed record Split : Segment;

    readonly List<Segment> _segments;

    public string Source { get; }
    /// <summary>The placeholder names in order of first use.</summary>
    public IReadOnlyList<string> Fields { get; }
    public bool HasSplit { get; }

    TemplateFormat(string source, List<Segment> segments)
    {
        Source = source;
        _segments = segments;
        Fields = segments.OfType<Field>().Select(f => f.Name).Distinct().ToList();
        HasSplit = segments.OfType<Split>().Any();
    }

    public static TemplateFormat Parse(string format)
    {
        var segments = new List<Segment>();
        var text = new StringBuilder();
        void Flush() { if (text.Length > 0) { segments.Add(new Literal(text.ToString())); text.Clear(); } }
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c == '{' && i + 1 < format.Length && format[i + 1] == '{') { text.Append('{'); i++; continue; }
            if (c == '}' && i + 1 < format.Length && format[i + 1] == '}') { text.Append('}'); i++; continue; }
            if (c == '}') throw new FormatException($"template \"{format}\": unmatched '}}' at {i} (write '}}}}' for a literal brace)");
            if (c != '{') { text.Append(c); continue; }
            int close = format.IndexOf('}', i + 1);
            if (close < 0) throw new FormatException($"template \"{format}\": unclosed '{{' at {i}");
            string name = format[(i + 1)..close];
            Flush();
            if (name == "|")
            {
                if (segments.OfType<Split>().Any()) throw new FormatException($"template \"{format}\": more than one split marker {SplitMarker}");
                segments.Add(new Split());
            }
            else if (name.Length == 0 || name.Any(ch => ch == '{' || char.IsWhiteSpace(ch)))
                throw new FormatException($"template \"{format}\": bad placeholder '{{{name}}}' at {i}");
            else segments.Add(new Field(name));
            i = close;
        }
        Flush();
        return new TemplateFormat(format, segments);
    }

    /// <summary>Renders the whole text (the split marker contributes nothing).</summary>
    public string Render(Func<string, string> value)
    {
        var (prompt, completion) = RenderSplit(value);
        return prompt + completion;
    }

    /// <summary>Renders the text before and after the split marker; with no marker everything is prompt.</summary>
    public (string Prompt, string Completion) RenderSplit(Func<string, string> value)
    {
        var prompt = new StringBuilder();
        var completion = new StringBuilder();
        var target = prompt;
        foreach (var s in _segments)
        {
            switch (s)
            {
                case Literal l: target.Append(l.Text); break;
                case Field f: target.Append(value(f.Name)); break;
                case Split: target = completion; break;
            }
        }
        return (prompt.ToString(), completion.ToString());
    }

    public override string ToString() => Source;
}
