namespace Workbench.Tests.Support;

/// <summary>The repository root (the folder holding Workbench.sln) and the optional ../shared folder beside it.</summary>
public static class RepoPaths
{
    public static readonly string Root = FindRoot();

    /// <summary>A path under the committed data/ folder.</summary>
    public static string Data(string relative) => Path.Combine(Root, "data", relative);

    /// <summary>A path under ../shared, or null when ../shared (or that path) is absent, as on a fresh clone.</summary>
    public static string? Shared(string relative)
    {
        string path = Path.GetFullPath(Path.Combine(Root, "..", "shared", relative));
        return File.Exists(path) || Directory.Exists(path) ? path : null;
    }

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Workbench.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no Workbench.sln above {AppContext.BaseDirectory}");
    }
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

/// <summary>A fresh temporary directory, deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("wb-test-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() => Directory.Delete(Path, recursive: true);
}
