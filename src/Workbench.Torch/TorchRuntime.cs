using System.Runtime.InteropServices;
using TorchSharp;

namespace Workbench.Torch;

/// <summary>libtorch could not be loaded; the message is one line naming the cause and the way on.</summary>
public sealed class TorchUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

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

    /// <summary>Throws <see cref="TorchUnavailableException"/> unless libtorch is usable in this process.</summary>
    public static void Ensure()
    {
        if (loaded.Value is { } e) throw new TorchUnavailableException(e.Message, e.InnerException);
    }

    /// <summary>The device for "cpu", "cuda" or "cuda:N", checked to exist.</summary>
    public static torch.Device Device(string name)
    {
        Ensure();
        if (name == "cpu") return torch.CPU;
        if (!name.StartsWith("cuda", StringComparison.Ordinal) || name.Length > 4 && (name[4] != ':' || !int.TryParse(name[5..], out _)))
            throw new ArgumentException($"device '{name}': expected cpu, cuda or cuda:N");
        if (!torch.cuda.is_available())
            throw new TorchUnavailableException($"device '{name}': CUDA is not available to this build of libtorch (the CPU package is referenced; build with -p:TorchDevice=cuda on a machine with an NVIDIA driver), or use --device cpu");
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
            var path = Path.Combine(AppContext.BaseDirectory, NativeLibrary);
            if (!File.Exists(path))
                return new TorchUnavailableException($"the torch backend needs {path}, which this build does not have (build a project that references Workbench.Torch){way}");
            try { System.Runtime.InteropServices.NativeLibrary.Load(path); }
            catch (DllNotFoundException e) { return new TorchUnavailableException($"cannot load libtorch: {Cause(e.Message)}{way}", e); }
        }
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            return null;
        }
        catch (Exception e) when (e is TypeInitializationException or NotSupportedException or DllNotFoundException or ExternalException)
        {
            return new TorchUnavailableException($"cannot start libtorch: {Cause((e.InnerException ?? e).Message)}{way}", e);
        }
    }

    /// <summary>The loader's own words (dlerror) from .NET's longer message, on one line.</summary>
    private static string Cause(string message)
    {
        var line = message.ReplaceLineEndings(" ");
        int at = line.LastIndexOf(".so: ", StringComparison.Ordinal);
        return at >= 0 ? line[(line.LastIndexOf(' ', at) + 1)..].Trim() : line.Trim();
    }
}
