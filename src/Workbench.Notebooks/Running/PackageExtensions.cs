using System.Collections.Concurrent;
using System.Reactive.Linq;
using System.Runtime.Loader;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Events;

namespace Workbench.Notebooks.Running;

/// <summary>
/// Loads what a referenced NuGet package brings for notebooks, as the <c>dotnet-interactive</c> tool does
/// (its KernelExtensionLoader, internal to the tool): after the command that added the package, the package's
/// <c>interactive-extensions/dotnet</c> folder gives <see cref="IKernelExtension"/> types in its assemblies and an
/// <c>extension.dib</c> script to run.
/// </summary>
public static class PackageExtensions
{
    private const string Folder = "interactive-extensions/dotnet", Script = "extension.dib";

    public static void LoadFromAddedPackages(CompositeKernel kernel)
    {
        var added = new ConcurrentQueue<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        kernel.RegisterForDisposal(kernel.KernelEvents.OfType<PackageAdded>()
            .Where(p => p.PackageReference.PackageRoot is not null)
            .Subscribe(p => added.Enqueue(p.PackageReference.PackageRoot)));
        kernel.AddMiddleware(async (command, context, next) =>
        {
            await next(command, context);
            while (added.TryDequeue(out var root))
            {
                var folder = new DirectoryInfo(Path.Combine(root, Folder));
                if (folder.Exists && seen.Add(folder.FullName)) await LoadAsync(kernel, folder, context);
            }
        });
    }

    private static async Task LoadAsync(CompositeKernel kernel, DirectoryInfo folder, KernelInvocationContext context)
    {
        foreach (var dll in folder.GetFiles("*.dll"))
        {
            var assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(dll.FullName);
            foreach (var type in assembly.ExportedTypes.Where(t => t is { IsAbstract: false, IsInterface: false, IsGenericTypeDefinition: false }
                                                                   && typeof(IKernelExtension).IsAssignableFrom(t)))
            {
                var extension = (IKernelExtension)Activator.CreateInstance(type)!;
                await extension.OnLoadAsync(kernel);
                context.Publish(new KernelExtensionLoaded(extension, context.Command));
            }
        }
        var script = new FileInfo(Path.Combine(folder.FullName, Script));
        if (script.Exists)
        {
            KernelInvocationContextExtensions.Display(context, $"Loading extension script from `{script.FullName}`");
            await kernel.LoadAndRunInteractiveDocument(script, context.Command);
        }
    }
}
