using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.DotNet.Interactive.Documents;

namespace Workbench.Notebooks.Export;

/// <summary>
/// Turns a notebook into a .NET 10 file-based app (<c>dotnet run Notebook.cs</c>). Cells are concatenated in
/// order; markdown becomes <c>//</c> comments. What top-level programs need is rearranged: <c>using</c>s go to the
/// top, type declarations to the end, a cell's final expression becomes <c>display(expr);</c>, and a
/// <c>display</c> that prints is defined. <c>#r "nuget: Name, 1.2"</c> becomes <c>#:package Name@1.2</c>,
/// <c>#i "nuget: folder"</c> a restore source (<c>#:property RestoreAdditionalProjectSources</c>), and
/// <c>#r "…/bin/…/Name.dll"</c> <c>#:project</c> pointing at the Name.csproj that builds it.
/// </summary>
public static partial class FileAppExporter
{
    /// <summary>The namespaces every cell of the .NET Interactive C# kernel starts with.</summary>
    private static readonly string[] KernelImports =
        ["System", "System.Text", "System.Collections", "System.Collections.Generic", "System.Threading.Tasks", "System.Linq"];

    /// <param name="notebookDirectory">Where the notebook's <c>#r</c> paths start.</param>
    /// <param name="outputDirectory">Where the .cs file goes; <c>#:project</c> paths are relative to it.</param>
    public static string Export(InteractiveDocument notebook, string notebookName, string notebookDirectory, string outputDirectory)
    {
        var directives = new List<string>();
        var usings = new List<string>(KernelImports.Select(n => $"using {n};"));
        var body = new StringBuilder();
        var types = new StringBuilder();
        int cellNumber = 0;
        foreach (var cell in notebook.Elements)
        {
            cellNumber++;
            if (!NotebookFile.IsCode(cell))
            {
                body.Append('\n').AppendJoin('\n', cell.Contents.TrimEnd().Split('\n').Select(l => ("// " + l.TrimEnd('\r')).TrimEnd())).Append('\n');
                continue;
            }
            var code = new StringBuilder();
            foreach (var line in cell.Contents.Split('\n').Select(l => l.TrimEnd('\r')))
            {
                if (ReferenceDirective().Match(line) is { Success: true } r)
                    directives.Add(Translate(r.Groups[1].Value, cellNumber, notebookDirectory, outputDirectory));
                else if (SourceDirective().Match(line) is { Success: true } i)
                    directives.Add(RestoreSource(i.Groups[1].Value.Trim(), notebookDirectory, outputDirectory));
                else if (!line.TrimStart().StartsWith("#!")) // Polyglot magic commands (#!csharp, #!time) have no meaning here
                    code.Append(line).Append('\n');
            }
            body.Append($"\n// ---- cell {cellNumber}").Append(NotebookFile.Tags(cell) is { Count: > 0 } tags ? $" ({string.Join(", ", tags)})" : "").Append('\n');
            AppendCode(code.ToString(), usings, body, types);
        }

        var file = new StringBuilder();
        file.Append($"// {notebookName}, exported by `wb notebook export`. Run: dotnet run {Path.GetFileNameWithoutExtension(notebookName)}.cs\n");
        foreach (var directive in directives.Distinct()) file.Append(directive).Append('\n');
        file.Append('\n');
        foreach (var u in usings.Distinct()) file.Append(u).Append('\n');
        file.Append(body);
        file.Append("\n// display(...) as in the notebook: prints the value (tables as Markdown).\n");
        file.Append("static void display(object? value) => Console.WriteLine(value);\n");
        if (types.Length > 0) file.Append("\n// ---- types declared in cells\n").Append(types);
        return file.ToString();
    }

    private static void AppendCode(string code, List<string> usings, StringBuilder body, StringBuilder types)
    {
        var root = (CompilationUnitSyntax)CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(kind: SourceCodeKind.Script)).GetRoot();
        usings.AddRange(root.Usings.Select(u => u.ToString().Trim()));
        var members = root.Members;
        for (int i = 0; i < members.Count; i++)
        {
            var member = members[i];
            if (member is BaseTypeDeclarationSyntax or DelegateDeclarationSyntax)
                types.Append(member.ToFullString().Trim('\n')).Append('\n');
            else if (i == members.Count - 1 && member is GlobalStatementSyntax { Statement: ExpressionStatementSyntax { SemicolonToken.IsMissing: true } last })
                body.Append(member.GetLeadingTrivia().ToFullString()).Append($"display({last.Expression});\n");
            else
                body.Append(member.ToFullString().TrimEnd()).Append('\n');
        }
    }

    private static string Translate(string reference, int cellNumber, string notebookDirectory, string outputDirectory)
    {
        if (reference.StartsWith("nuget:", StringComparison.OrdinalIgnoreCase))
        {
            var parts = reference["nuget:".Length..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            return $"#:package {parts[0]}@{(parts.Length > 1 ? parts[1] : "*")}";
        }
        string name = Path.GetFileNameWithoutExtension(reference);
        string dll = Path.GetFullPath(Path.Combine(notebookDirectory, reference));
        var project = ProjectAbove(Path.GetDirectoryName(dll)!, name) ?? ProjectUnderSrc(notebookDirectory, name)
            ?? throw new NotSupportedException(
                $"cell {cellNumber}: #r \"{reference}\": no {name}.csproj found above it or under a src/ folder; " +
                "file-based apps reference projects (#:project) and packages (#:package), not bare assemblies");
        return $"#:project {Path.GetRelativePath(outputDirectory, project).Replace('\\', '/')}";
    }

    /// <summary>bin/Release/net10.0/Name.dll → the nearest folder above holding Name.csproj.</summary>
    private static string? ProjectAbove(string directory, string name)
    {
        for (var dir = new DirectoryInfo(directory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, name + ".csproj"))) return Path.Combine(dir.FullName, name + ".csproj");
        return null;
    }

    /// <summary>A src/Name/Name.csproj in the notebook's folder or a folder above it (the dll was never built).</summary>
    private static string? ProjectUnderSrc(string notebookDirectory, string name)
    {
        for (var dir = new DirectoryInfo(Path.GetFullPath(notebookDirectory)); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "src", name, name + ".csproj");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>A package source folder, relative to the exported file as it was to the notebook; URLs stay as they are.</summary>
    private static string RestoreSource(string source, string notebookDirectory, string outputDirectory) =>
        "#:property RestoreAdditionalProjectSources=" + (Uri.TryCreate(source, UriKind.Absolute, out var uri) && !uri.IsFile
            ? source
            : Path.GetRelativePath(outputDirectory, Path.GetFullPath(Path.Combine(notebookDirectory, source))).Replace('\\', '/'));

    [GeneratedRegex("""^\s*#r\s+"([^"]+)"\s*$""")]
    private static partial Regex ReferenceDirective();

    [GeneratedRegex("""^\s*#i\s+"nuget:\s*([^"]+)"\s*$""")]
    private static partial Regex SourceDirective();
}
