namespace Workbench.Formats;

/// <summary>
/// Writes a folder so that readers see it whole or not at all: <c>write</c> fills a hidden temporary folder beside
/// the target (the same volume, so the last step is a rename), which is removed if anything fails, or by the next
/// write when a killed process left it (<see cref="TempSibling"/>).
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
        var aside = TempSibling.Of(full, "old");
        Directory.Move(full, aside);
        try { Directory.Move(temp, full); }
        catch
        {
            Directory.Move(aside, full);
            throw;
        }
        Directory.Delete(aside, recursive: true);
    });

    private static void Fill(string target, Action<string> write, Action<string, string> swapIn)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target));
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        TempSibling.RemoveStale(full);
        var temp = TempSibling.Of(full, "tmp");
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
}
