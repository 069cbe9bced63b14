namespace Workbench.Formats;

/// <summary>
/// Writes a folder so that readers see it whole or not at all: <c>write</c> fills a hidden temporary folder beside
/// the target (the same volume, so the last step is a rename), which is removed if anything fails.
/// </summary>
public static class AtomicFolder
{
    /// <summary>
    /// The written folder takes the target's place. An existing target is moved aside first (and back if the rename
    /// fails), then deleted.
    /// </summary>
    public static void Write(string target, Action<string> write) => Fill(target, write, (temp, full) =>
    {
        if (!Directory.Exists(full)) { Directory.Move(temp, full); return; }
        var aside = Beside(full, "old");
        Directory.Move(full, aside);
        try { Directory.Move(temp, full); }
        catch
        {
            Directory.Move(aside, full);
            throw;
        }
        Directory.Delete(aside, recursive: true);
    });

    /// <summary>
    /// For a folder that may hold files of others (a tokenizer written into a model's folder): a missing target is
    /// renamed into place as by <see cref="Write"/>; in an existing one each written file replaces its namesake by a
    /// rename, and the other files stay.
    /// </summary>
    public static void WriteInto(string target, Action<string> write) => Fill(target, write, (temp, full) =>
    {
        if (!Directory.Exists(full)) { Directory.Move(temp, full); return; }
        foreach (var file in Directory.GetFiles(temp)) File.Move(file, Path.Combine(full, Path.GetFileName(file)), overwrite: true);
    });

    private static void Fill(string target, Action<string> write, Action<string, string> swapIn)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target));
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = Beside(full, "tmp");
        Directory.CreateDirectory(temp);
        try
        {
            write(temp);
            swapIn(temp, full);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>A hidden, unique sibling of <paramref name="full"/>: .name.tmp-…, .name.old-….</summary>
    private static string Beside(string full, string role) =>
        Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{role}-{Guid.NewGuid():N}");
}
