using Workbench.Formats;
using Workbench.Tests.Support;

namespace Workbench.Tests.Formats;

public class AtomicWriterTests
{
    private static string[] Entries(string dir) =>
        [.. Directory.EnumerateFileSystemEntries(dir).Select(e => Path.GetFileName(e)).Order(StringComparer.Ordinal)];

    [Fact]
    public void FileIsReplacedWholeAndAFailedWriteLeavesTheOldOne()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "sub", "a.txt");
        AtomicFile.WriteAllText(path, "첫째\n");
        Assert.Equal("첫째\n"u8.ToArray(), File.ReadAllBytes(path));             // folder created, UTF-8 without BOM

        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.WriteByte((byte)'x');
            throw new InvalidOperationException("disk full");
        }));
        Assert.Equal("첫째\n", File.ReadAllText(path));
        Assert.Equal(["a.txt"], Entries(Path.GetDirectoryName(path)!));          // no temporary file left
    }

    [Fact]
    public void FolderTakesTheTargetsPlaceWhole()
    {
        using var dir = new TempDir();
        var target = dir.File("out");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "stale.txt"), "old");

        AtomicFolder.Write(target + "/", d => File.WriteAllText(Path.Combine(d, "new.txt"), "new"));
        Assert.Equal(["new.txt"], Entries(target));
        Assert.Equal(["out"], Entries(dir.Path));                               // nothing aside, nothing temporary
    }

    [Fact]
    public void FailedFolderWriteLeavesTheTargetAsItWas()
    {
        using var dir = new TempDir();
        var target = dir.File("out");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "kept.txt"), "old");

        Assert.Throws<IOException>(() => AtomicFolder.Write(target, d =>
        {
            File.WriteAllText(Path.Combine(d, "half.txt"), "…");
            throw new IOException("interrupted");
        }));
        Assert.Equal(["kept.txt"], Entries(target));
        Assert.Equal(["out"], Entries(dir.Path));
    }
}
