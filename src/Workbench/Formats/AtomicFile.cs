using System.Text;

namespace Workbench.Formats;

/// <summary>
/// Writes a file so that readers see the old content or the new, never half of it: the bytes go to a hidden
/// temporary file in the target's folder (the same volume, so the last step is a rename), flushed to disk and
/// renamed over the target. The temporary file is removed if anything fails, or by the next write when a killed
/// process left it (<see cref="TempSibling"/>). The folder is created if missing.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        TempSibling.RemoveStale(full);
        var temp = TempSibling.Of(full, "tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>The text as UTF-8 without a byte-order mark (what File.WriteAllText writes).</summary>
    public static void WriteAllText(string path, string text) => Write(path, s => s.Write(Encoding.UTF8.GetBytes(text)));
}
