namespace Workbench.Tests.Support;

/// <summary>Files in the repository (data samples), found by walking up from the test assembly to Workbench.sln.</summary>
public static class RepoPaths
{
    static readonly Lazy<string> RootDir = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Workbench.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no folder with Workbench.sln above {AppContext.BaseDirectory}");
    });

    public static string Root => RootDir.Value;

    public static string Data(string relative) => Path.Combine(Root, "data", relative);
}

/// <summary>A temporary file deleted on dispose.</summary>
public sealed class TempFile : IDisposable
{
    public string Path { get; }

    public TempFile(string content, string extension = ".jsonl")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"wb-{Guid.NewGuid():N}{extension}");
        File.WriteAllText(Path, content);
    }

    public void Dispose() => File.Delete(Path);
}
