using System.Collections.Immutable;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Scripting;

namespace Workbench.Notebooks.Running;

/// <summary>
/// How a cell's <c>#r</c> directives resolve. <c>#r "path/to.dll"</c> is relative to the notebook's folder. A
/// reference to an assembly the runner already holds (Workbench.dll, Workbench.Notebooks.dll) resolves to the
/// runner's own copy whatever its path, so a notebook written for Polyglot Notebooks
/// (<c>#r "../src/Workbench/bin/Release/net10.0/Workbench.dll"</c>) runs headless with no build of its own and
/// shares types with the runner. <c>#r "nuget: ..."</c> is refused with a clear message.
/// </summary>
public sealed partial class NotebookReferences : MetadataReferenceResolver
{
    private readonly ScriptMetadataResolver _files;
    private readonly Dictionary<string, Assembly> _host;

    public NotebookReferences(string notebookDirectory, IEnumerable<Assembly> hostAssemblies)
    {
        _files = ScriptMetadataResolver.Default.WithBaseDirectory(Path.GetFullPath(notebookDirectory));
        _host = hostAssemblies.ToDictionary(a => a.GetName().Name!, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The .NET runtime's own assemblies (System.*, Microsoft.*, netstandard) plus the host assemblies.</summary>
    public IEnumerable<MetadataReference> DefaultReferences()
    {
        string frameworkDir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var framework = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetDirectoryName(p) == frameworkDir && !Path.GetFileName(p).StartsWith("Microsoft.VisualBasic"));
        return framework.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .Concat(_host.Values.Select(a => MetadataReference.CreateFromFile(a.Location)));
    }

    /// <summary>Throws <see cref="NotSupportedException"/> for a <c>#r "nuget: ..."</c> line, naming its line in the cell.</summary>
    public static void RejectNuGet(string cellSource)
    {
        var lines = cellSource.Split('\n');
        for (int i = 0; i < lines.Length; i++)
            if (NuGetDirective().Match(lines[i]) is { Success: true } m)
                throw new NotSupportedException(
                    $"line {i + 1}: #r \"nuget: {m.Groups[1].Value.Trim()}\" is not supported by the Workbench runner " +
                    "(no package restore here); reference a built assembly with #r \"path/to.dll\", or export the notebook " +
                    "with `wb notebook export` (file-based apps take #:package)");
    }

    public override ImmutableArray<PortableExecutableReference> ResolveReference(string reference, string? baseFilePath, MetadataReferenceProperties properties)
    {
        if (reference.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) &&
            _host.TryGetValue(Path.GetFileNameWithoutExtension(reference), out var assembly))
            return [MetadataReference.CreateFromFile(assembly.Location, properties)];
        return _files.ResolveReference(reference, baseFilePath, properties);
    }

    public override bool ResolveMissingAssemblies => _files.ResolveMissingAssemblies;

    public override PortableExecutableReference? ResolveMissingAssembly(MetadataReference definition, AssemblyIdentity referenceIdentity) =>
        _files.ResolveMissingAssembly(definition, referenceIdentity);

    public override bool Equals(object? other) => ReferenceEquals(this, other);

    public override int GetHashCode() => _files.GetHashCode();

    [GeneratedRegex("""^\s*#r\s+"nuget:\s*([^"]*)"\s*$""", RegexOptions.IgnoreCase)]
    private static partial Regex NuGetDirective();
}
