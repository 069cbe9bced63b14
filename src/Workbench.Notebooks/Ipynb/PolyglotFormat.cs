using System.Text.Json.Nodes;

namespace Workbench.Notebooks.Ipynb;

/// <summary>
/// The notebook-level metadata Polyglot Notebooks writes for a C# notebook (dotnet/interactive,
/// Microsoft.DotNet.Interactive.Documents/Jupyter/InteractiveDocumentExtensions.WithJupyterMetadata):
/// kernelspec, language_info and polyglot_notebook.kernelInfo with csharp as the default kernel.
/// </summary>
public static class PolyglotFormat
{
    public const string KernelName = "csharp";

    public static JsonObject KernelSpec() => new()
    {
        ["display_name"] = ".NET (C#)",
        ["language"] = "C#",
        ["name"] = ".net-csharp",
    };

    public static JsonObject LanguageInfo() => new()
    {
        ["file_extension"] = ".cs",
        ["mimetype"] = "text/x-csharp",
        ["name"] = "C#",
        ["pygments_lexer"] = "csharp",
        ["version"] = "13.0",
    };

    public static JsonObject KernelInfo() => new()
    {
        ["defaultKernelName"] = KernelName,
        ["items"] = new JsonArray(new JsonObject
        {
            ["aliases"] = new JsonArray(),
            ["languageName"] = "C#",
            ["name"] = KernelName,
        }),
    };

    /// <summary>Adds what is missing of kernelspec, language_info and polyglot_notebook.kernelInfo; keeps what is there.</summary>
    public static void Apply(JsonObject notebookMetadata)
    {
        notebookMetadata["kernelspec"] ??= KernelSpec();
        notebookMetadata["language_info"] ??= LanguageInfo();
        var polyglot = notebookMetadata["polyglot_notebook"] as JsonObject ?? (JsonObject)(notebookMetadata["polyglot_notebook"] = new JsonObject());
        polyglot["kernelInfo"] ??= KernelInfo();
    }
}
