namespace Workbench.Data;

/// <summary>
/// Paths written relative to the repository ("data/models/ko-tiny"), found from wherever the code runs: the
/// working folder or the nearest folder above it that has them. A notebook runs in its own folder (Polyglot
/// Notebooks, Jupyter and <c>wb notebook run</c> all start it there), so its paths resolve the same everywhere.
/// </summary>
public static class DataPath
{
    /// <summary>An absolute path is returned as it is; a relative one is looked up from the working folder upwards.</summary>
    public static string Find(string relative)
    {
        if (Path.IsPathRooted(relative)) return relative;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, relative);
            if (File.Exists(path) || Directory.Exists(path)) return path;
        }
        throw new FileNotFoundException($"{relative}: not found in {Directory.GetCurrentDirectory()} or any folder above it", relative);
    }
}
