using System.Globalization;
using System.Text;

namespace Workbench.Tokenizers.Chat;

/// <summary>A chat template that cannot be parsed or rendered; the message names the template line.</summary>
public sealed class ChatTemplateException(string message) : Exception(message);

/// <summary>The syntax tree of a template: text, <c>{{ output }}</c> and the statements <c>if</c>, <c>for</c>, <c>set</c>.</summary>
internal abstract record JinjaNode(int Line);
internal sealed record TextNode(string Text, int Line) : JinjaNode(Line);
internal sealed record OutputNode(JinjaExpr Value, int Line) : JinjaNode(Line);
internal sealed record IfNode(List<(JinjaExpr Condition, List<JinjaNode> Body)> Branches, List<JinjaNode> Else, int Line) : JinjaNode(Line);
internal sealed record ForNode(List<string> Targets, JinjaExpr Items, List<JinjaNode> Body, List<JinjaNode> Else, int Line) : JinjaNode(Line);
/// <summary><c>set name = value</c>, or <c>set name.attribute = value</c> on a namespace.</summary>
internal sealed record SetNode(string Name, string? Attribute, JinjaExpr Value, int Line) : JinjaNode(Line);

internal abstract record JinjaExpr;
internal sealed record LiteralExpr(object? Value) : JinjaExpr;
internal sealed record NameExpr(string Name) : JinjaExpr;
internal sealed record ListExpr(List<JinjaExpr> Items) : JinjaExpr;
internal sealed record DictExpr(List<(JinjaExpr Key, JinjaExpr Value)> Items) : JinjaExpr;
internal sealed record AttributeExpr(JinjaExpr Target, string Name) : JinjaExpr;
internal sealed record IndexExpr(JinjaExpr Target, JinjaExpr Key) : JinjaExpr;
internal sealed record SliceExpr(JinjaExpr Target, JinjaExpr? Start, JinjaExpr? Stop, JinjaExpr? Step) : JinjaExpr;
internal sealed record CallExpr(JinjaExpr Target, List<JinjaExpr> Args, List<(string Name, JinjaExpr Value)> Kwargs) : JinjaExpr;
internal sealed record FilterExpr(JinjaExpr Target, string Name, List<JinjaExpr> Args, List<(string Name, JinjaExpr Value)> Kwargs) : JinjaExpr;
internal sealed record TestExpr(JinjaExpr Target, string Name, List<JinjaExpr> Args, bool Negated) : JinjaExpr;
internal sealed record UnaryExpr(string Op, JinjaExpr Operand) : JinjaExpr;
internal sealed record BinaryExpr(string Op, JinjaExpr Left, JinjaExpr Right) : JinjaExpr;
internal sealed record ConditionalExpr(JinjaExpr Then, JinjaExpr Condition, JinjaExpr? Else) : JinjaExpr;

/// <summary>
/// Reads the Jinja2 subset that chat templates use, with the environment transformers renders them in
/// (<c>trim_blocks=True</c>, <c>lstrip_blocks=True</c>): text, <c>{{ expr }}</c>, <c>{% if / elif / else / for / set %}</c>,
/// <c>{# comments #}</c> and the <c>-</c> whitespace control on either side of a tag. Expressions: literals, lists, dicts,
/// names, attributes, indexing and slicing, calls, filters, tests, <c>not and or in is</c>, comparisons, arithmetic,
/// <c>~</c> and <c>a if b else c</c>.
/// </summary>
internal sealed class JinjaParser
{
    private sealed record Segment(bool IsTag, char Kind, string Text, int Line);   // Kind: '{' output, '%' statement

    private readonly List<Segment> segments;
    private int position;

    private JinjaParser(List<Segment> segments) => this.segments = segments;

    public static List<JinjaNode> Parse(string source)
    {
        var parser = new JinjaParser(Split(source));
        var body = parser.Block(out var end);
        if (end is not null) throw new ChatTemplateException($"chat template line {end.Line}: unexpected {{% {end.Text} %}}");
        return body;
    }

    /// <summary>The template as text and tags, whitespace control and trim/lstrip_blocks applied to the text between.</summary>
    private static List<Segment> Split(string source)
    {
        var result = new List<Segment>();
        var text = new StringBuilder();
        int i = 0, line = 1;
        bool trimNext = false;
        while (i < source.Length)
        {
            int open = source.IndexOf('{', i);
            while (open >= 0 && open + 1 < source.Length && source[open + 1] is not ('{' or '%' or '#')) open = source.IndexOf('{', open + 1);
            bool atLineStart = i == 0 || source[i - 1] == '\n';
            string chunk = open < 0 || open + 1 >= source.Length ? source[i..] : source[i..open];
            if (trimNext) chunk = chunk.TrimStart();
            trimNext = false;
            text.Append(chunk);
            line += chunk.Count(c => c == '\n');
            if (open < 0 || open + 1 >= source.Length) break;
            char kind = source[open + 1];
            string close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
            int end = source.IndexOf(close, open + 2, StringComparison.Ordinal);
            if (end < 0) throw new ChatTemplateException($"chat template line {line}: '{{{kind}' is never closed");
            string inner = source[(open + 2)..end];
            bool stripBefore = inner.StartsWith('-'), stripAfter = inner.EndsWith('-');
            int tagLine = line;
            line += inner.Count(c => c == '\n');
            if (stripBefore) { var t = text.ToString().TrimEnd(); text.Clear().Append(t); }
            else if (kind != '{' && !inner.StartsWith('+'))   // lstrip_blocks: spaces before a block tag alone on its line
            {
                int lineStart = text.ToString().LastIndexOf('\n') + 1;
                if ((lineStart > 0 || atLineStart) && text.ToString()[lineStart..].All(c => c is ' ' or '\t')) text.Length = lineStart;
            }
            if (text.Length > 0) result.Add(new Segment(false, ' ', text.ToString(), tagLine));
            text.Clear();
            if (kind != '#') result.Add(new Segment(true, kind, inner.Trim('-', '+').Trim(), tagLine));
            i = end + 2;
            if (stripAfter) trimNext = true;
            else if (kind != '{' && i < source.Length)   // trim_blocks: the newline after a block tag
            {
                if (source[i] == '\n') { i++; line++; }
                else if (source[i] == '\r' && i + 1 < source.Length && source[i + 1] == '\n') { i += 2; line++; }
            }
        }
        if (text.Length > 0) result.Add(new Segment(false, ' ', text.ToString(), line));
        return result;
    }

    /// <summary>Nodes up to the next statement this level does not own (elif, else, end...), returned in <paramref name="end"/>.</summary>
    private List<JinjaNode> Block(out Segment? end)
    {
        var nodes = new List<JinjaNode>();
        while (position < segments.Count)
        {
            var s = segments[position++];
            if (!s.IsTag) { nodes.Add(new TextNode(s.Text, s.Line)); continue; }
            var tokens = new JinjaTokens(s.Text, s.Line);
            if (s.Kind == '{') { nodes.Add(new OutputNode(tokens.ExpressionToEnd(), s.Line)); continue; }
            string keyword = tokens.Name();
            switch (keyword)
            {
                case "if": nodes.Add(If(tokens, s.Line)); break;
                case "for": nodes.Add(For(tokens, s.Line)); break;
                case "set":
                    string name = tokens.Name();
                    string? attribute = tokens.Accept(".") ? tokens.Name() : null;
                    tokens.Expect("=");
                    nodes.Add(new SetNode(name, attribute, tokens.ExpressionToEnd(), s.Line));
                    break;
                case "elif" or "else" or "endif" or "endfor":
                    end = s;
                    return nodes;
                default: throw new ChatTemplateException($"chat template line {s.Line}: unsupported tag {{% {keyword} %}}");
            }
        }
        end = null;
        return nodes;
    }

    private IfNode If(JinjaTokens tokens, int line)
    {
        var branches = new List<(JinjaExpr, List<JinjaNode>)>();
        var condition = tokens.ExpressionToEnd();
        while (true)
        {
            var body = Block(out var end);
            branches.Add((condition, body));
            var keyword = end is null ? null : new JinjaTokens(end.Text, end.Line);
            switch (keyword?.Name())
            {
                case "elif": condition = keyword.ExpressionToEnd(); continue;
                case "else":
                    var elseBody = Block(out var close);
                    if (close is null || !close.Text.StartsWith("endif")) throw new ChatTemplateException($"chat template line {line}: {{% if %}} without {{% endif %}}");
                    return new IfNode(branches, elseBody, line);
                case "endif": return new IfNode(branches, [], line);
                default: throw new ChatTemplateException($"chat template line {line}: {{% if %}} without {{% endif %}}");
            }
        }
    }

    private ForNode For(JinjaTokens tokens, int line)
    {
        var targets = new List<string> { tokens.Name() };
        while (tokens.Accept(",")) targets.Add(tokens.Name());
        if (tokens.Name() != "in") throw new ChatTemplateException($"chat template line {line}: expected 'in' in {{% for %}}");
        var items = tokens.ExpressionToEnd();
        var body = Block(out var end);
        var elseBody = new List<JinjaNode>();
        if (end is not null && end.Text == "else") elseBody = Block(out end);
        if (end is null || end.Text != "endfor") throw new ChatTemplateException($"chat template line {line}: {{% for %}} without {{% endfor %}}");
        return new ForNode(targets, items, body, elseBody, line);
    }
}

/// <summary>The tokens inside one tag and the expression grammar over them, loosest binding first.</summary>
internal sealed class JinjaTokens
{
    private readonly List<string> tokens = [];
    private readonly int line;
    private int next;

    public JinjaTokens(string text, int line)
    {
        this.line = line;
        for (int i = 0; i < text.Length;)
        {
            char c = text[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            int start = i;
            if (char.IsLetter(c) || c == '_') { while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_')) i++; }
            else if (char.IsDigit(c)) { while (i < text.Length && (char.IsDigit(text[i]) || text[i] == '.' && i + 1 < text.Length && char.IsDigit(text[i + 1]))) i++; }
            else if (c is '\'' or '"')
            {
                for (i++; i < text.Length && text[i] != c; i++) if (text[i] == '\\') i++;
                if (i >= text.Length) throw Error("unterminated string");
                i++;
            }
            else if (i + 1 < text.Length && text.Substring(i, 2) is "==" or "!=" or "<=" or ">=" or "//" or "**") i += 2;
            else i++;
            tokens.Add(text[start..i]);
        }
    }

    private ChatTemplateException Error(string problem) => new($"chat template line {line}: {problem}");

    private string? Peek => next < tokens.Count ? tokens[next] : null;

    public bool Accept(string token)
    {
        if (Peek != token) return false;
        next++;
        return true;
    }

    public void Expect(string token)
    {
        if (!Accept(token)) throw Error($"expected '{token}', found '{Peek ?? "end of tag"}'");
    }

    public string Name()
    {
        var t = Peek;
        if (t is null || !(char.IsLetter(t[0]) || t[0] == '_')) throw Error($"expected a name, found '{t ?? "end of tag"}'");
        next++;
        return t;
    }

    public JinjaExpr ExpressionToEnd()
    {
        var e = Expression();
        if (Peek is { } extra) throw Error($"unexpected '{extra}'");
        return e;
    }

    private JinjaExpr Expression()
    {
        var value = Or();
        if (!Accept("if")) return value;
        var condition = Or();
        return new ConditionalExpr(value, condition, Accept("else") ? Expression() : null);
    }

    private JinjaExpr Or()
    {
        var left = And();
        while (Accept("or")) left = new BinaryExpr("or", left, And());
        return left;
    }

    private JinjaExpr And()
    {
        var left = Not();
        while (Accept("and")) left = new BinaryExpr("and", left, Not());
        return left;
    }

    private JinjaExpr Not() => Accept("not") ? new UnaryExpr("not", Not()) : Comparison();

    private JinjaExpr Comparison()
    {
        var left = Concatenation();
        while (true)
        {
            if (Peek is "==" or "!=" or "<" or ">" or "<=" or ">=") left = new BinaryExpr(tokens[next++], left, Concatenation());
            else if (Accept("in")) left = new BinaryExpr("in", left, Concatenation());
            else if (Peek == "not" && next + 1 < tokens.Count && tokens[next + 1] == "in") { next += 2; left = new UnaryExpr("not", new BinaryExpr("in", left, Concatenation())); }
            else if (Accept("is"))
            {
                bool negated = Accept("not");
                string test = Name();
                var args = new List<JinjaExpr>();
                if (Accept("(")) args = Arguments(out _);
                else if (Peek is { } p && p != "and" && p != "or" && p != "else" && p != "if" && p != ")" && p != "]" && p != ",") args.Add(Concatenation());
                left = new TestExpr(left, test, args, negated);
            }
            else return left;
        }
    }

    private JinjaExpr Concatenation()
    {
        var left = Additive();
        while (Accept("~")) left = new BinaryExpr("~", left, Additive());
        return left;
    }

    private JinjaExpr Additive()
    {
        var left = Multiplicative();
        while (Peek is "+" or "-") left = new BinaryExpr(tokens[next++], left, Multiplicative());
        return left;
    }

    private JinjaExpr Multiplicative()
    {
        var left = Unary();
        while (Peek is "*" or "/" or "//" or "%") left = new BinaryExpr(tokens[next++], left, Unary());
        return left;
    }

    private JinjaExpr Unary() => Peek is "-" or "+" ? new UnaryExpr(tokens[next++], Unary()) : Postfix(Primary());

    private JinjaExpr Postfix(JinjaExpr e)
    {
        while (true)
        {
            if (Accept(".")) e = new AttributeExpr(e, Name());
            else if (Accept("["))
            {
                JinjaExpr? start = Peek == ":" ? null : Expression();
                if (Accept("]")) { e = new IndexExpr(e, start!); continue; }
                Expect(":");
                JinjaExpr? stop = Peek is ":" or "]" ? null : Expression();
                JinjaExpr? step = Accept(":") && Peek != "]" ? Expression() : null;
                Expect("]");
                e = new SliceExpr(e, start, stop, step);
            }
            else if (Accept("(")) { var args = Arguments(out var kwargs); e = new CallExpr(e, args, kwargs); }
            else if (Accept("|"))
            {
                string name = Name();
                var args = new List<JinjaExpr>();
                var kwargs = new List<(string, JinjaExpr)>();
                if (Accept("(")) args = Arguments(out kwargs);
                e = new FilterExpr(e, name, args, kwargs);
            }
            else return e;
        }
    }

    /// <summary>Call arguments after '(' up to ')': positional, then name=value.</summary>
    private List<JinjaExpr> Arguments(out List<(string, JinjaExpr)> kwargs)
    {
        var args = new List<JinjaExpr>();
        kwargs = [];
        while (!Accept(")"))
        {
            if (Peek is { } t && (char.IsLetter(t[0]) || t[0] == '_') && next + 1 < tokens.Count && tokens[next + 1] == "=") { next += 2; kwargs.Add((t, Expression())); }
            else args.Add(Expression());
            if (!Accept(",")) { Expect(")"); break; }
        }
        return args;
    }

    private JinjaExpr Primary()
    {
        var t = Peek ?? throw Error("expected an expression, found the end of the tag");
        next++;
        if (t == "(") { var e = Expression(); Expect(")"); return e; }
        if (t == "[")
        {
            var items = new List<JinjaExpr>();
            while (!Accept("]")) { items.Add(Expression()); if (!Accept(",")) { Expect("]"); break; } }
            return new ListExpr(items);
        }
        if (t == "{")
        {
            var items = new List<(JinjaExpr, JinjaExpr)>();
            while (!Accept("}")) { var k = Expression(); Expect(":"); items.Add((k, Expression())); if (!Accept(",")) { Expect("}"); break; } }
            return new DictExpr(items);
        }
        if (t[0] is '\'' or '"') return new LiteralExpr(Unescape(t[1..^1]));
        if (char.IsDigit(t[0]))
            return new LiteralExpr(t.Contains('.') ? double.Parse(t, CultureInfo.InvariantCulture) : (object)long.Parse(t, CultureInfo.InvariantCulture));
        return t switch
        {
            "true" or "True" => new LiteralExpr(true),
            "false" or "False" => new LiteralExpr(false),
            "none" or "None" => new LiteralExpr(null),
            _ when char.IsLetter(t[0]) || t[0] == '_' => new NameExpr(t),
            _ => throw Error($"unexpected '{t}'"),
        };
    }

    /// <summary>Python string escapes: \n \t \r \\ \' \" and \uXXXX.</summary>
    private static string Unescape(string s)
    {
        var b = new StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\' || i + 1 >= s.Length) { b.Append(s[i]); continue; }
            char c = s[++i];
            if (c == 'u' && i + 4 < s.Length) { b.Append((char)Convert.ToInt32(s.Substring(i + 1, 4), 16)); i += 4; continue; }
            b.Append(c switch { 'n' => '\n', 't' => '\t', 'r' => '\r', _ => c });
        }
        return b.ToString();
    }
}
