using System.Text.Json.Nodes;

namespace Workbench.Formats;

/// <summary>A command or library call refused to write where it would touch files that are not its own.</summary>
public sealed class OutputRefusedException(string message) : IOException(message);

/// <summary>
/// The one rule for what Workbench writes: a folder it makes carries a marker file naming its kind, and an existing
/// folder is written to only when it is empty, or is an earlier output of the same kind and the caller says
/// <c>force</c>. Never a folder that holds an input, the working directory or a folder above it, a folder above an
/// input, or a folder with anything else in it. Checked by <see cref="Claim"/> before any work starts.
/// </summary>
public sealed class OutputFolder
{
    public const string MarkerFile = ".workbench-output";

    public string Path { get; }
    public string Kind { get; }

    private OutputFolder(string path, string kind) => (Path, Kind) = (path, kind);

    /// <summary>
    /// Checks that <paramref name="target"/> may become an output of <paramref name="kind"/> ("merged-model",
    /// "training-run", …); <paramref name="inputs"/> are the files and folders the work reads.
    /// </summary>
    public static OutputFolder Claim(string target, string kind, bool force, params IEnumerable<string?> inputs)
    {
        var full = Full(target);
        if (File.Exists(full)) throw new OutputRefusedException($"{target}: is a file; the output is a folder");
        var cwd = Full(Directory.GetCurrentDirectory());
        if (IsSameOrAbove(full, cwd)) throw new OutputRefusedException($"{target}: is the working directory or a folder above it; choose a new folder");
        foreach (var input in inputs.OfType<string>().Select(Full))
            if (IsSameOrAbove(full, input))
                throw new OutputRefusedException($"{target}: is or holds the input {input}; choose a new folder");
        if (!Directory.Exists(full) || !Directory.EnumerateFileSystemEntries(full).Any()) return new(full, kind);
        var existing = KindOf(full);
        if (existing != kind)
            throw new OutputRefusedException(existing is null
                ? $"{target}: exists with files Workbench did not write; choose a new folder"
                : $"{target}: holds a {existing} output, not a {kind}; choose a new folder");
        if (!force) throw new OutputRefusedException($"{target}: holds an earlier {kind} output; pass --force to replace it, or choose a new folder");
        return new(full, kind);
    }

    /// <summary>The kind an earlier output recorded in its marker, or null for a folder Workbench did not make.</summary>
    public static string? KindOf(string folder)
    {
        var marker = System.IO.Path.Combine(folder, MarkerFile);
        if (!File.Exists(marker)) return null;
        try { return JsonNode.Parse(File.ReadAllText(marker))?["kind"]?.GetValue<string>(); }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException) { return null; }
    }

    /// <summary>Fills the folder whole (<see cref="AtomicFolder.Write"/>), the marker with it.</summary>
    public void Write(Action<string> fill) => AtomicFolder.Write(Path, dir =>
    {
        fill(dir);
        Mark(dir);
    });

    /// <summary>Creates the folder (for outputs written piece by piece, like a training run) and marks it.</summary>
    public void Create()
    {
        Directory.CreateDirectory(Path);
        if (KindOf(Path) != Kind) Mark(Path);
    }

    /// <summary>Deletes an earlier output of this kind (claimed with force) so the work starts from nothing, then creates the folder.</summary>
    public void Recreate()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
        Create();
    }

    /// <summary>
    /// A folder to add files to: a new one (made as <paramref name="kind"/>), or an earlier output of that kind or of
    /// one of <paramref name="into"/> (an evaluation written into a training run's folder). Returns the full path.
    /// </summary>
    public static string ClaimToAdd(string target, string kind, params string[] into)
    {
        var full = Full(target);
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
        {
            var existing = KindOf(full);
            if (existing != kind && !into.Contains(existing))
                throw new OutputRefusedException($"{target}: exists with files that are not a {string.Join(" or ", into.Prepend(kind))} output; choose a new folder");
            return full;
        }
        var output = Claim(target, kind, force: false);
        output.Create();
        return output.Path;
    }

    private void Mark(string dir) =>
        AtomicFile.WriteAllText(System.IO.Path.Combine(dir, MarkerFile), new JsonObject { ["kind"] = Kind }.ToJsonString() + "\n");

    private static string Full(string path) => System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(path));

    /// <summary>True when <paramref name="folder"/> is <paramref name="path"/> or a folder above it.</summary>
    private static bool IsSameOrAbove(string folder, string path) =>
        path == folder || path.StartsWith(folder + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal);
}
