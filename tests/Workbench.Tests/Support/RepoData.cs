namespace Workbench.Tests.Support;

/// <summary>Files under the repository's <c>data/</c> folder (configs, the stories260K model), found from the test assembly.</summary>
public static class RepoData
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Workbench.sln"))) return Path.Combine(dir.FullName, "data");
        throw new DirectoryNotFoundException($"no Workbench.sln above {AppContext.BaseDirectory}");
    });

    public static string PathOf(string relative) => Path.Combine(Root.Value, relative);
}

/// <summary>A fresh temporary directory, deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("wb-test-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() => Directory.Delete(Path, recursive: true);
}
