using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.PackageManagement;

namespace Workbench.Notebooks.Running;

/// <summary>
/// The kernel a notebook runs on: .NET Interactive's C# kernel set up as the <c>dotnet-interactive</c> tool sets
/// it up for Polyglot Notebooks and Jupyter (<c>#r</c> of paths and <c>nuget:</c> packages, <c>#i</c> sources,
/// <c>display(...)</c>, <c>#!who</c>, <c>#!set</c> / <c>#!share</c> value sharing through the <c>value</c> kernel),
/// loading the kernel extensions of referenced packages. Other languages are not hosted.
/// </summary>
public static class NotebookKernel
{
    public const string CSharp = "csharp";

    /// <summary>The kernels a notebook's cells may name, for reading .ipynb and .dib files.</summary>
    public static KernelInfoCollection Languages() =>
    [
        new Microsoft.DotNet.Interactive.Documents.KernelInfo(CSharp, "C#", ["c#", "C#"]),
        new Microsoft.DotNet.Interactive.Documents.KernelInfo("value"),
    ];

    public static CompositeKernel Create()
    {
        var csharp = new CSharpKernel()
            .UseNugetDirective((kernel, packages) =>
            {
                kernel.AddAssemblyReferences(packages.SelectMany(p => p.AssemblyPaths));
                return Task.CompletedTask;
            })
            .UseKernelHelpers()
            .UseWho()
            .UseValueSharing();
        var composite = new CompositeKernel { DefaultKernelName = CSharp };
        composite.Add(csharp, ["c#", "C#"]);
        composite.Add(new KeyValueStoreKernel().UseWho());
        PackageExtensions.LoadFromAddedPackages(composite);
        return composite;
    }
}
