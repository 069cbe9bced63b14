namespace Workbench.Formats;

/// <summary>
/// The rule of <see cref="OutputFolder"/> for a single file: a new file, or with <c>force</c> an existing file, but
/// never one of the inputs nor a folder. Checked before any work starts; the file itself is written atomically.
/// </summary>
public static class OutputFile
{
    /// <returns>The full path to write.</returns>
    public static string Claim(string target, bool force, params IEnumerable<string?> inputs)
    {
        var full = Path.GetFullPath(target);
        if (Directory.Exists(full)) throw new OutputRefusedException($"{target}: is a folder; the output is a file");
        foreach (var input in inputs.OfType<string>())
            if (Path.GetFullPath(input) == full) throw new OutputRefusedException($"{target}: is an input of this command; choose another file");
        if (File.Exists(full) && !force) throw new OutputRefusedException($"{target}: exists; pass --force to replace it, or choose another file");
        return full;
    }
}
