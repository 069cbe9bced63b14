using System.Globalization;
using System.Numerics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.DotNet.Interactive.Documents;

namespace Workbench.Notebooks.Running;

/// <summary>
/// Papermill-style parameters: the cell tagged <c>parameters</c> declares them with defaults
/// (<c>int steps = 10;</c>, <c>var name = "x";</c>); values given with <c>--param name=value</c> go into a new cell
/// tagged <c>injected-parameters</c> placed right after it, typed by the declaration (int, long, float, double,
/// bool, string).
/// </summary>
public static class NotebookParameters
{
    public const string Tag = "parameters";
    public const string InjectedTag = "injected-parameters";

    /// <summary>"name=value" pairs → dictionary; the value may itself contain '='.</summary>
    public static Dictionary<string, string> Parse(IEnumerable<string> pairs)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            int eq = pair.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"--param '{pair}': expected name=value");
            values[pair[..eq].Trim()] = pair[(eq + 1)..];
        }
        return values;
    }

    /// <summary>The C# type of each parameter declared in a parameters cell, by name.</summary>
    public static Dictionary<string, string> Declarations(string parametersCellSource)
    {
        var root = CSharpSyntaxTree.ParseText(parametersCellSource, new CSharpParseOptions(kind: SourceCodeKind.Script)).GetRoot();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var declaration in root.DescendantNodes().OfType<VariableDeclarationSyntax>())
            foreach (var variable in declaration.Variables)
                types[variable.Identifier.Text] = declaration.Type.IsVar
                    ? TypeOfLiteral(variable.Initializer?.Value) ?? "var"
                    : declaration.Type.ToString();
        return types;
    }

    /// <summary>Inserts the injected-parameters cell after the parameters cell; returns it. Nothing to inject → null.</summary>
    public static InteractiveDocumentElement? Inject(InteractiveDocument notebook, IReadOnlyDictionary<string, string> values)
    {
        if (values.Count == 0) return null;
        var cells = notebook.Elements;
        int at = cells.ToList().FindIndex(c => NotebookFile.IsCode(c) && NotebookFile.Tags(c).Contains(Tag));
        if (at < 0) throw new ArgumentException($"--param given but no code cell is tagged '{Tag}' (metadata.tags)");
        var declared = Declarations(cells[at].Contents);
        var lines = new List<string> { "// Parameters injected by wb notebook run" };
        foreach (var (name, value) in values)
        {
            if (!declared.TryGetValue(name, out var type))
                throw new ArgumentException($"--param {name}: cell {at + 1} (parameters) declares no '{name}'; it declares {string.Join(", ", declared.Keys)}");
            lines.Add($"{name} = {Literal(name, type, value)};");
        }
        var cell = NotebookFile.Code(string.Join("\n", lines), InjectedTag);
        cells.Insert(at + 1, cell);
        return cell;
    }

    private static string? TypeOfLiteral(ExpressionSyntax? initializer) => initializer switch
    {
        LiteralExpressionSyntax { Token.Value: int } => "int",
        LiteralExpressionSyntax { Token.Value: long } => "long",
        LiteralExpressionSyntax { Token.Value: float } => "float",
        LiteralExpressionSyntax { Token.Value: double } => "double",
        LiteralExpressionSyntax { Token.Value: bool } => "bool",
        LiteralExpressionSyntax { Token.Value: string } => "string",
        PrefixUnaryExpressionSyntax { Operand: var operand } => TypeOfLiteral(operand),
        _ => null,
    };

    private static string Literal(string name, string type, string value)
    {
        var invariant = CultureInfo.InvariantCulture;
        try
        {
            return type switch
            {
                "int" or "Int32" or "System.Int32" => int.Parse(value, NumberStyles.Integer, invariant).ToString(invariant),
                "long" or "Int64" or "System.Int64" => long.Parse(value, NumberStyles.Integer, invariant).ToString(invariant) + "L",
                "float" or "Single" or "System.Single" => Real(float.Parse(value, NumberStyles.Float, invariant), "float", "f"),
                "double" or "Double" or "System.Double" => Real(double.Parse(value, NumberStyles.Float, invariant), "double", "d"),
                "bool" or "Boolean" or "System.Boolean" => bool.Parse(value) ? "true" : "false",
                "string" or "String" or "System.String" => SymbolDisplay.FormatLiteral(value, quote: true),
                _ => throw new ArgumentException($"--param {name}: its declaration has type '{type}'; parameters may be int, long, float, double, bool or string"),
            };
        }
        catch (FormatException)
        {
            throw new ArgumentException($"--param {name}={value}: not a valid {type}");
        }
        catch (OverflowException)
        {
            throw new ArgumentException($"--param {name}={value}: out of range for {type}");
        }
    }

    private static string Real<T>(T value, string type, string suffix) where T : IFloatingPointIeee754<T> =>
        T.IsNaN(value) ? $"{type}.NaN"
        : T.IsPositiveInfinity(value) ? $"{type}.PositiveInfinity"
        : T.IsNegativeInfinity(value) ? $"{type}.NegativeInfinity"
        : value.ToString("R", CultureInfo.InvariantCulture) + suffix;
}
