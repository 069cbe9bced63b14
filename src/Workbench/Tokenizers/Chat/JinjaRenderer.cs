using System.Globalization;
using System.Text;

namespace Workbench.Tokenizers.Chat;

/// <summary>A name or key that is not there: renders empty, is false, iterates as nothing.</summary>
internal sealed class Undefined
{
    public static readonly Undefined Value = new();
    public override string ToString() => "";
}

/// <summary>Jinja's <c>namespace(...)</c>: the one object a template may change from inside a loop.</summary>
internal sealed class Namespace : Dictionary<string, object?>;

/// <summary>Runs a parsed template over Python-like values: string, long, double, bool, null, lists and string-keyed dictionaries.</summary>
internal sealed class JinjaRenderer(Dictionary<string, object?> globals, StringBuilder output)
{
    private readonly List<Dictionary<string, object?>> scopes = [globals];
    private int line;

    public void Run(List<JinjaNode> nodes)
    {
        foreach (var node in nodes)
        {
            line = node.Line;
            switch (node)
            {
                case TextNode t: output.Append(t.Text); break;
                case OutputNode o: output.Append(Str(Eval(o.Value))); break;
                case IfNode i:
                    var branch = i.Branches.FirstOrDefault(b => Truthy(Eval(b.Condition))).Body ?? i.Else;
                    Run(branch);
                    break;
                case ForNode f: For(f); break;
                case SetNode s:
                    var value = Eval(s.Value);
                    if (s.Attribute is null) scopes[^1][s.Name] = value;
                    else if (Lookup(s.Name) is Namespace ns) ns[s.Attribute] = value;
                    else throw Error($"cannot set '{s.Name}.{s.Attribute}': '{s.Name}' is not a namespace");
                    break;
            }
        }
    }

    private void For(ForNode f)
    {
        var items = Iterate(Eval(f.Items)).ToList();
        if (items.Count == 0) { Run(f.Else); return; }
        for (int i = 0; i < items.Count; i++)
        {
            var scope = new Dictionary<string, object?>
            {
                ["loop"] = new Dictionary<string, object?>
                {
                    ["index"] = (long)i + 1, ["index0"] = (long)i, ["first"] = i == 0, ["last"] = i == items.Count - 1, ["length"] = (long)items.Count,
                    ["revindex"] = (long)(items.Count - i), ["revindex0"] = (long)(items.Count - i - 1),
                    ["previtem"] = i > 0 ? items[i - 1] : Undefined.Value, ["nextitem"] = i + 1 < items.Count ? items[i + 1] : Undefined.Value,
                },
            };
            if (f.Targets.Count == 1) scope[f.Targets[0]] = items[i];
            else
            {
                var parts = Iterate(items[i]).ToList();
                for (int k = 0; k < f.Targets.Count; k++) scope[f.Targets[k]] = k < parts.Count ? parts[k] : Undefined.Value;
            }
            scopes.Add(scope);
            try { Run(f.Body); }
            finally { scopes.RemoveAt(scopes.Count - 1); }
        }
    }

    private ChatTemplateException Error(string problem) => new($"chat template line {line}: {problem}");

    private object? Lookup(string name)
    {
        for (int i = scopes.Count - 1; i >= 0; i--) if (scopes[i].TryGetValue(name, out var v)) return v;
        return name switch { "raise_exception" or "namespace" or "range" => new Builtin(name), _ => Undefined.Value };
    }

    private sealed record Builtin(string Name);
    private sealed record BoundMethod(object? Target, string Name);

    private object? Eval(JinjaExpr e) => e switch
    {
        LiteralExpr l => l.Value,
        NameExpr n => Lookup(n.Name),
        ListExpr l => l.Items.Select(Eval).ToList(),
        DictExpr d => d.Items.ToDictionary(kv => Str(Eval(kv.Key)), kv => Eval(kv.Value)),
        AttributeExpr a => Attribute(Eval(a.Target), a.Name),
        IndexExpr i => Index(Eval(i.Target), Eval(i.Key)),
        SliceExpr s => Slice(Eval(s.Target), s.Start is null ? null : Eval(s.Start), s.Stop is null ? null : Eval(s.Stop), s.Step is null ? null : Eval(s.Step)),
        CallExpr c => Call(Eval(c.Target), c.Args.Select(Eval).ToList(), c.Kwargs.ToDictionary(k => k.Name, k => Eval(k.Value))),
        FilterExpr f => Filter(f.Name, Eval(f.Target), f.Args.Select(Eval).ToList(), f.Kwargs.ToDictionary(k => k.Name, k => Eval(k.Value))),
        TestExpr t => Test(t.Name, Eval(t.Target), t.Args.Select(Eval).ToList()) != t.Negated,
        UnaryExpr { Op: "not" } u => !Truthy(Eval(u.Operand)),
        UnaryExpr u => u.Op == "-" ? Arithmetic("-", 0L, Eval(u.Operand)) : Eval(u.Operand),
        BinaryExpr { Op: "and" } b => Eval(b.Left) is var v && !Truthy(v) ? v : Eval(b.Right),
        BinaryExpr { Op: "or" } b => Eval(b.Left) is var w && Truthy(w) ? w : Eval(b.Right),
        BinaryExpr b => Binary(b.Op, Eval(b.Left), Eval(b.Right)),
        ConditionalExpr c => Truthy(Eval(c.Condition)) ? Eval(c.Then) : c.Else is null ? Undefined.Value : Eval(c.Else),
        _ => throw Error($"cannot evaluate {e.GetType().Name}"),
    };

    private object? Attribute(object? target, string name) => target switch
    {
        IDictionary<string, object?> d when d.TryGetValue(name, out var v) => v,
        IDictionary<string, object?> d when name is "items" or "keys" or "values" or "get" => new BoundMethod(d, name),
        string s => new BoundMethod(s, name),
        _ => Undefined.Value,
    };

    private object? Index(object? target, object? key) => (target, key) switch
    {
        (IDictionary<string, object?> d, string k) => d.TryGetValue(k, out var v) ? v : Undefined.Value,
        (List<object?> l, long i) => i < -l.Count || i >= l.Count ? Undefined.Value : l[(int)(i < 0 ? i + l.Count : i)],
        (string s, long i) => i < -s.Length || i >= s.Length ? Undefined.Value : s[(int)(i < 0 ? i + s.Length : i)].ToString(),
        (_, string k) => Attribute(target, k),
        _ => Undefined.Value,
    };

    /// <summary>Python's sequence[start:stop:step].</summary>
    private object? Slice(object? target, object? start, object? stop, object? step)
    {
        var items = target is string str ? str.Select(c => (object?)c.ToString()).ToList() : target as List<object?> ?? throw Error($"cannot slice {TypeName(target)}");
        int n = items.Count, k = step is long st ? (int)st : 1;
        if (k == 0) throw Error("slice step cannot be zero");
        int Bound(object? v, int fallback) => v is long x ? (int)Math.Clamp(x < 0 ? x + n : x, k > 0 ? 0 : -1, k > 0 ? n : n - 1) : fallback;
        int from = Bound(start, k > 0 ? 0 : n - 1), to = Bound(stop, k > 0 ? n : -1);
        var result = new List<object?>();
        for (int i = from; k > 0 ? i < to : i > to; i += k) result.Add(items[i]);
        return target is string ? string.Concat(result) : result;
    }

    private object? Call(object? target, List<object?> args, Dictionary<string, object?> kwargs)
    {
        if (target is Builtin { Name: "raise_exception" }) throw Error($"raise_exception: {Str(args.FirstOrDefault())}");
        if (target is Builtin { Name: "namespace" })
        {
            var ns = new Namespace();
            foreach (var (k, v) in kwargs) ns[k] = v;
            return ns;
        }
        if (target is Builtin { Name: "range" })
        {
            long from = args.Count > 1 ? (long)args[0]! : 0, to = (long)args[^1]!;
            return Enumerable.Range(0, (int)Math.Max(0, to - from)).Select(i => (object?)(from + i)).ToList();
        }
        if (target is not BoundMethod m) throw Error($"{TypeName(target)} is not callable");
        string? Arg(int i) => i < args.Count && args[i] is string s ? s : null;
        return (m.Target, m.Name) switch
        {
            (string s, "strip") => Arg(0) is { } c ? s.Trim(c.ToCharArray()) : s.Trim(),
            (string s, "lstrip") => Arg(0) is { } c ? s.TrimStart(c.ToCharArray()) : s.TrimStart(),
            (string s, "rstrip") => Arg(0) is { } c ? s.TrimEnd(c.ToCharArray()) : s.TrimEnd(),
            (string s, "startswith") => s.StartsWith(Arg(0) ?? "", StringComparison.Ordinal),
            (string s, "endswith") => s.EndsWith(Arg(0) ?? "", StringComparison.Ordinal),
            (string s, "split") => (Arg(0) is { } sep ? s.Split(sep) : s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).Select(x => (object?)x).ToList(),
            (string s, "upper") => s.ToUpperInvariant(),
            (string s, "lower") => s.ToLowerInvariant(),
            (string s, "replace") => s.Replace(Arg(0) ?? "", Arg(1) ?? ""),
            (string s, "title") => CultureInfo.InvariantCulture.TextInfo.ToTitleCase(s.ToLowerInvariant()),
            (IDictionary<string, object?> d, "items") => d.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList(),
            (IDictionary<string, object?> d, "keys") => d.Keys.Select(k => (object?)k).ToList(),
            (IDictionary<string, object?> d, "values") => d.Values.ToList(),
            (IDictionary<string, object?> d, "get") => d.TryGetValue(Arg(0) ?? "", out var v) ? v : args.Count > 1 ? args[1] : null,
            _ => throw Error($"unsupported method '{m.Name}' of {TypeName(m.Target)}"),
        };
    }

    private object? Filter(string name, object? value, List<object?> args, Dictionary<string, object?> kwargs) => name switch
    {
        "trim" => Str(value).Trim(),
        "length" or "count" => (long)(value switch { string s => s.Length, List<object?> l => l.Count, IDictionary<string, object?> d => d.Count, _ => 0 }),
        "upper" => Str(value).ToUpperInvariant(),
        "lower" => Str(value).ToLowerInvariant(),
        "string" => Str(value),
        "first" => Iterate(value).FirstOrDefault(Undefined.Value),
        "last" => Iterate(value).LastOrDefault(Undefined.Value),
        "list" => Iterate(value).ToList(),
        "reverse" => value is string s ? new string(s.Reverse().ToArray()) : Iterate(value).Reverse().ToList(),
        "join" => string.Join(args.Count > 0 ? Str(args[0]) : "", Iterate(value).Select(Str)),
        "default" or "d" => value is Undefined || (args.Count > 1 && Truthy(args[1]) && !Truthy(value)) ? (args.Count > 0 ? args[0] : "") : value,
        "items" => value is IDictionary<string, object?> d ? d.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList() : throw Error("items: not a mapping"),
        "tojson" => Json(value, kwargs.TryGetValue("indent", out var indent) && indent is long n ? (int)n : null, 0),
        "safe" => value,
        _ => throw Error($"unsupported filter '{name}'"),
    };

    private bool Test(string name, object? value, List<object?> args) => name switch
    {
        "defined" => value is not Undefined,
        "undefined" => value is Undefined,
        "none" => value is null,
        "string" => value is string,
        "number" => value is long or double,
        "integer" => value is long,
        "float" => value is double,
        "boolean" => value is bool,
        "true" => value is true,
        "false" => value is false,
        "mapping" => value is IDictionary<string, object?>,
        "iterable" => value is string or List<object?> or IDictionary<string, object?>,
        "sequence" => value is string or List<object?> or IDictionary<string, object?>,
        "callable" => value is Builtin or BoundMethod,
        "odd" => value is long o && o % 2 != 0,
        "even" => value is long v && v % 2 == 0,
        "divisibleby" => value is long a && args.FirstOrDefault() is long b && a % b == 0,
        "eq" or "equalto" or "==" => Equal(value, args.FirstOrDefault()),
        "ne" or "!=" => !Equal(value, args.FirstOrDefault()),
        "in" => Contains(args.FirstOrDefault(), value),
        _ => throw Error($"unsupported test '{name}'"),
    };

    private object? Binary(string op, object? a, object? b) => op switch
    {
        "==" => Equal(a, b),
        "!=" => !Equal(a, b),
        "<" => Compare(a, b) < 0,
        ">" => Compare(a, b) > 0,
        "<=" => Compare(a, b) <= 0,
        ">=" => Compare(a, b) >= 0,
        "in" => Contains(b, a),
        "~" => Str(a) + Str(b),
        "+" when a is string x && b is string y => x + y,
        "+" when a is List<object?> x && b is List<object?> y => x.Concat(y).ToList(),
        _ => Arithmetic(op, a, b),
    };

    private object? Arithmetic(string op, object? a, object? b)
    {
        a = a is bool ba ? (ba ? 1L : 0L) : a;
        b = b is bool bb ? (bb ? 1L : 0L) : b;
        if (a is long x && b is long y)
            return op switch
            {
                "+" => (object)(x + y), "-" => x - y, "*" => x * y, "/" => (double)x / y,
                "//" => (long)Math.Floor((double)x / y), "%" => ((x % y) + y) % y,
                _ => throw Error($"unsupported operator '{op}'"),
            };
        if (op == "*" && a is string s && b is long times) return string.Concat(Enumerable.Repeat(s, (int)Math.Max(0, times)));
        if (a is long or double && b is long or double)
        {
            double p = Convert.ToDouble(a, CultureInfo.InvariantCulture), q = Convert.ToDouble(b, CultureInfo.InvariantCulture);
            return op switch { "+" => p + q, "-" => p - q, "*" => p * q, "/" => p / q, "//" => Math.Floor(p / q), "%" => p - q * Math.Floor(p / q), _ => throw Error($"unsupported operator '{op}'") };
        }
        throw Error($"unsupported operand types for {op}: {TypeName(a)} and {TypeName(b)}");
    }

    private static bool Equal(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (Undefined, Undefined) => true,
        (long or double or bool, long or double or bool) => Convert.ToDouble(a, CultureInfo.InvariantCulture) == Convert.ToDouble(b, CultureInfo.InvariantCulture),
        (string x, string y) => x == y,
        (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => Equal(p.First, p.Second)),
        _ => ReferenceEquals(a, b),
    };

    private int Compare(object? a, object? b) => (a, b) switch
    {
        (string x, string y) => string.CompareOrdinal(x, y),
        (long or double or bool, long or double or bool) => Convert.ToDouble(a, CultureInfo.InvariantCulture).CompareTo(Convert.ToDouble(b, CultureInfo.InvariantCulture)),
        _ => throw Error($"cannot compare {TypeName(a)} with {TypeName(b)}"),
    };

    private bool Contains(object? container, object? item) => container switch
    {
        string s => item is string sub ? s.Contains(sub, StringComparison.Ordinal) : throw Error($"'in <string>' needs a string, got {TypeName(item)}"),
        List<object?> l => l.Any(x => Equal(x, item)),
        IDictionary<string, object?> d => item is string k && d.ContainsKey(k),
        Undefined => false,
        _ => throw Error($"'in' needs a string, list or mapping, got {TypeName(container)}"),
    };

    private IEnumerable<object?> Iterate(object? value) => value switch
    {
        List<object?> l => l,
        string s => s.Select(c => (object?)c.ToString()),
        IDictionary<string, object?> d => d.Keys,
        Undefined or null => [],
        _ => throw Error($"{TypeName(value)} is not iterable"),
    };

    /// <summary>Python truthiness.</summary>
    private static bool Truthy(object? v) => v switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> l => l.Count > 0,
        IDictionary<string, object?> d => d.Count > 0,
        _ => true,
    };

    /// <summary>Python's str(): None, True, 1.0, ['a', 1].</summary>
    private static string Str(object? v) => v switch
    {
        string s => s,
        _ => Repr(v),
    };

    private static string Repr(object? v) => v switch
    {
        null => "None",
        Undefined => "",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => double.IsInteger(d) && Math.Abs(d) < 1e16 ? d.ToString("0.0", CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture),
        string s => "'" + s.Replace("\\", "\\\\").Replace("'", "\\'").Replace("\n", "\\n") + "'",
        List<object?> l => "[" + string.Join(", ", l.Select(Repr)) + "]",
        IDictionary<string, object?> d => "{" + string.Join(", ", d.Select(kv => Repr(kv.Key) + ": " + Repr(kv.Value))) + "}",
        _ => v.ToString() ?? "",
    };

    /// <summary>transformers' tojson: json.dumps(ensure_ascii=False), separators ", " and ": ", or indented.</summary>
    private static string Json(object? v, int? indent, int depth)
    {
        string Pad(int d) => indent is int n ? "\n" + new string(' ', n * d) : "";
        string Items(IEnumerable<string> parts) => indent is null ? string.Join(", ", parts) : string.Join(",", parts.Select(p => Pad(depth + 1) + p)) + Pad(depth);
        return v switch
        {
            null or Undefined => "null",
            bool b => b ? "true" : "false",
            long or double => Repr(v),
            string s => System.Text.Json.JsonSerializer.Serialize(s, new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }),
            List<object?> l => l.Count == 0 ? "[]" : "[" + Items(l.Select(x => Json(x, indent, depth + 1))) + "]",
            IDictionary<string, object?> d => d.Count == 0 ? "{}" : "{" + Items(d.Select(kv => Json(kv.Key, indent, depth + 1) + ": " + Json(kv.Value, indent, depth + 1))) + "}",
            _ => Json(v.ToString(), indent, depth),
        };
    }

    private static string TypeName(object? v) => v switch
    {
        null => "None", Undefined => "undefined", string => "str", long => "int", double => "float", bool => "bool",
        List<object?> => "list", IDictionary<string, object?> => "dict", _ => v.GetType().Name,
    };
}
