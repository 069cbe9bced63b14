using System.Diagnostics;

namespace Workbench.Formats;

/// <summary>
/// The hidden siblings atomic writes work in: <c>.name.role-PID-id</c> beside the target, on its volume. The process
/// id in the name tells a live writer's sibling from one a killed process left: <see cref="RemoveStale"/> deletes
/// those, so no temporary files or folders pile up.
/// </summary>
public static class TempSibling
{
    /// <summary>A new unique sibling path of <paramref name="full"/> for <paramref name="role"/> ("tmp", "old").</summary>
    public static string Of(string full, string role) =>
        Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{role}-{Environment.ProcessId}-{Guid.NewGuid():N}");

    /// <summary>
    /// Removes the siblings of <paramref name="full"/> that processes no longer running left behind. A folder set
    /// aside ("old") while its replacement was being moved in goes back in place when the target is missing: it is the
    /// last complete output.
    /// </summary>
    public static void RemoveStale(string full)
    {
        var folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder)) return;
        foreach (var path in Directory.EnumerateFileSystemEntries(folder, $".{Path.GetFileName(full)}.*-*-*"))
        {
            var parts = Path.GetFileName(path)[(Path.GetFileName(full).Length + 2)..].Split('-');
            if (parts.Length != 3 || !int.TryParse(parts[1], out int pid) || IsRunning(pid)) continue;
            if (parts[0] == "old" && Directory.Exists(path) && !Directory.Exists(full)) Directory.Move(path, full);
            else if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else File.Delete(path);
        }
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}
