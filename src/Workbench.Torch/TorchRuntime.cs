using System.Runtime.InteropServices;
using TorchSharp;
using Workbench.Backends;

namespace Workbench.Torch;

/// <summary>
/// Loads TorchSharp's native library once, before anything touches a torch tensor. TorchSharp's own error for a failed
/// load blames a missing libtorch-cpu package whatever the cause; here the dynamic loader is asked first, so the
/// message says what really failed (a missing file, an unmet GLIBCXX version, a missing CUDA driver).
/// </summary>
public static class TorchRuntime
{
    /// <summary>The library TorchSharp binds to, in the application's output (build/patch_glibcxx.py makes it loadable).</summary>
    public const string NativeLibrary = "runtimes/linux-x64/native/libLibTorchSharp.so";

    private static readonly Lazy<Exception?> loaded = new(TryLoad);

    /// <summary>Throws <see cref="BackendUnavailableException"/> unless libtorch is usable in this process.</summary>
    public static void Ensure()
    {
        if (loaded.Value is { } e) throw new BackendUnavailableException(e.Message, e.InnerException);
    }

    /// <summary>The device for "cpu", "cuda" or "cuda:N", checked to exist.</summary>
    public static torch.Device Device(string name)
    {
        Ensure();
        if (name == "cpu") return torch.CPU;
        if (!name.StartsWith("cuda", StringComparison.Ordinal) || name.Length > 4 && (name[4] != ':' || !int.TryParse(name[5..], out _)))
            throw new ArgumentException($"device '{name}': expected cpu, cuda or cuda:N");
        if (!torch.cuda.is_available())
            throw new BackendUnavailableException($"device '{name}': CUDA is not available to this build of libtorch (the CPU package is referenced; build with -p:TorchDevice=cuda on a machine with an NVIDIA driver), or use --device cpu");
        var device = torch.device(name);
        if (device.index >= torch.cuda.device_count())
            throw new ArgumentException($"device '{name}': only {torch.cuda.device_count()} CUDA device(s)");
        return device;
    }

    private static Exception? TryLoad()
    {
        const string way = "; use --backend managed to run without libtorch";
        if (OperatingSystem.IsLinux())
        {
            // OpenMP threads that spin while waiting cost 10× on small ops when the cores are shared; libgomp reads this once, at load.
            if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null) setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
            // glibc raises its mmap threshold (to 32 MiB) after the first large free, after which freed tensor buffers stay
            // in the heap: the process keeps every transient it ever had. A fixed 1 MiB threshold returns them at once.
            if (Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is null) mallopt(MmapThreshold, 1 << 20);
            var path = Path.Combine(AppContext.BaseDirectory, NativeLibrary);
            if (!File.Exists(path))
                return new BackendUnavailableException($"the torch backend needs {path}, which this build does not have (build a project that references Workbench.Torch){way}");
            try { System.Runtime.InteropServices.NativeLibrary.Load(path); }
            catch (DllNotFoundException e) { return new BackendUnavailableException($"cannot load libtorch: {Cause(e.Message)}{way}", e); }
        }
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            return null;
        }
        catch (Exception e) when (e is TypeInitializationException or NotSupportedException or DllNotFoundException or ExternalException)
        {
            return new BackendUnavailableException($"cannot start libtorch: {Cause((e.InnerException ?? e).Message)}{way}", e);
        }
    }

    [DllImport("libc", CharSet = CharSet.Ansi)]
    private static extern int setenv(string name, string value, int overwrite);

    private const int MmapThreshold = -3;   // M_MMAP_THRESHOLD in malloc.h

    [DllImport("libc")]
    private static extern int mallopt(int parameter, int value);

    /// <summary>The loader's own words (dlerror) from .NET's longer message, on one line, with the fix for the known case.</summary>
    private static string Cause(string message)
    {
        const string marker = "LD_DEBUG environment variable:";
        var line = message.ReplaceLineEndings(" ");
        int at = line.IndexOf(marker, StringComparison.Ordinal);
        var cause = (at >= 0 ? line[(at + marker.Length)..] : line).Trim();
        return cause.Contains("GLIBCXX") ? cause + " (the build makes its copy loadable with src/Workbench.Torch/build/patch_glibcxx.py, which needs python3: rebuild)" : cause;
    }

}
