using System.Runtime.InteropServices;
using TorchSharp;
using Workbench.Engine;
using Workbench.Formats;
using HostTensor = Workbench.Engine.Tensor;

namespace Workbench.Torch;

/// <summary>
/// Moving tensors between the engine's host <see cref="HostTensor"/>, safetensors bytes and libtorch. Storage dtypes
/// are kept (bf16 stays bf16); only the element bytes are copied, straight into libtorch's memory.
/// </summary>
public static class TorchTensors
{
    public static torch.ScalarType ScalarType(DType dtype) => dtype switch
    {
        DType.F32 => torch.ScalarType.Float32,
        DType.F16 => torch.ScalarType.Float16,
        DType.BF16 => torch.ScalarType.BFloat16,
        DType.I8 => torch.ScalarType.Int8,
        DType.U8 => torch.ScalarType.Byte,
        _ => throw new NotSupportedException($"dtype {dtype} has no libtorch counterpart here"),
    };

    /// <summary>A safetensors dtype name ("BF16") as libtorch's.</summary>
    public static torch.ScalarType ScalarType(string safetensorsDType) => safetensorsDType switch
    {
        "F32" => torch.ScalarType.Float32,
        "F16" => torch.ScalarType.Float16,
        "BF16" => torch.ScalarType.BFloat16,
        "I8" => torch.ScalarType.Int8,
        "U8" => torch.ScalarType.Byte,
        "I32" => torch.ScalarType.Int32,
        "I64" => torch.ScalarType.Int64,
        _ => throw new NotSupportedException($"safetensors dtype {safetensorsDType} is not read by the torch backend"),
    };

    /// <summary>A tensor of <paramref name="shape"/> and <paramref name="dtype"/> holding <paramref name="bytes"/> (little-endian elements), on <paramref name="device"/>.</summary>
    public static Tensor FromBytes(ReadOnlySpan<byte> bytes, long[] shape, torch.ScalarType dtype, torch.Device device)
    {
        var t = torch.empty(shape, dtype);
        bytes.CopyTo(t.bytes);
        return device.type == DeviceType.CPU ? t : Moved(t, device);
    }

    /// <summary>
    /// One tensor of a checkpoint, in its file dtype: from a safetensors shard straight out of the mapped file into
    /// libtorch's memory; from a pytorch_model.bin shard through the host tensor the restricted unpickler reads.
    /// </summary>
    public static Tensor FromCheckpoint(SafeTensorsCheckpoint checkpoint, string name, torch.Device device)
    {
        if (!checkpoint.IsMapped(name)) return FromHost(checkpoint.Load(name), device);
        var entry = checkpoint.Entries.First(e => e.Name == name);
        return FromBytes(checkpoint.Bytes(name), entry.Shape.Select(d => (long)d).ToArray(), ScalarType(entry.DType), device);
    }

    /// <summary>A host tensor's values in its storage dtype.</summary>
    public static Tensor FromHost(HostTensor t, torch.Device device)
    {
        var c = t.Contiguous();
        long[] shape = c.Shape.Select(d => (long)d).ToArray();
        ReadOnlySpan<byte> bytes = c.Storage switch
        {
            F32Storage s => MemoryMarshal.AsBytes(s.Data.AsSpan((int)c.Offset, (int)c.Numel)),
            F16Storage s => MemoryMarshal.AsBytes(s.Data.AsSpan((int)c.Offset, (int)c.Numel)),
            BF16Storage s => MemoryMarshal.AsBytes(s.Data.AsSpan((int)c.Offset, (int)c.Numel)),
            I8Storage s => MemoryMarshal.AsBytes(s.Data.AsSpan((int)c.Offset, (int)c.Numel)),
            U8Storage s => s.Data.AsSpan((int)c.Offset, (int)c.Numel),
            _ => throw new NotSupportedException($"{t}: storage {c.Storage.GetType().Name} cannot be copied to libtorch"),
        };
        return FromBytes(bytes, shape, ScalarType(t.DType), device);
    }

    /// <summary>
    /// A float32 tensor over a managed array, without copying (CPU): the engine's host tensor over the same array sees
    /// every in-place change libtorch makes, and the other way round. Checkpoints read and write trainable weights
    /// and optimizer moments through it. On another device the values are copied there (no sharing).
    /// </summary>
    public static (Tensor Tensor, HostTensor Host) Shared(float[] data, int[] shape, torch.Device device)
    {
        var host = new HostTensor(new F32Storage(data), shape);
        var t = torch.frombuffer(data, torch.ScalarType.Float32).reshape(shape.Select(d => (long)d).ToArray());
        return (device.type == DeviceType.CPU ? t : Moved(t, device), host);
    }

    /// <summary>Float32 values of any tensor, as a host tensor of the same shape (a copy).</summary>
    public static HostTensor ToHost(Tensor t) =>
        HostTensor.FromArray(ToFloats(t), t.shape.Select(d => (int)d).ToArray());

    public static float[] ToFloats(Tensor t)
    {
        using var f = t.detach().to(torch.ScalarType.Float32).cpu().contiguous();
        return f.data<float>().ToArray();
    }

    public static Tensor Ids(int[] ids, int batch, int seq, torch.Device device) =>
        torch.tensor(ids.Select(i => (long)i).ToArray(), [batch, seq], torch.ScalarType.Int64, device);

    private static Tensor Moved(Tensor t, torch.Device device)
    {
        var moved = t.to(device);
        t.Dispose();
        return moved;
    }
}
