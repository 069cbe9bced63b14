using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using Workbench.Engine;

namespace Workbench.Formats;

/// <summary>
/// Reads a .safetensors file: 8-byte little-endian header length, a JSON header mapping tensor names to
/// {dtype, shape, data_offsets}, then the raw little-endian data. F32/F16/BF16/I8/U8/I32 load into their
/// own storage; F64 and I64 are narrowed to F32 and I32.
/// </summary>
public static class SafeTensorsFile
{
    public static Dictionary<string, Tensor> Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new FormatException($"{path}: too short for a safetensors header");
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        if (headerLength <= 0 || 8 + headerLength > bytes.Length)
            throw new FormatException($"{path}: header length {headerLength} is outside the file ({bytes.Length} bytes)");
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        var dataStart = 8 + (int)headerLength;
        var result = new Dictionary<string, Tensor>();
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__") continue;
            var dtype = entry.Value.GetProperty("dtype").GetString()!;
            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            long begin = dataStart + offsets[0], end = dataStart + offsets[1];
            if (end > bytes.Length || begin > end || end - begin != Engine.Shape.Numel(shape) * SafeTensorsDType.SizeOf(dtype))
                throw new FormatException($"{path}: tensor '{entry.Name}' has data_offsets [{offsets[0]}, {offsets[1]}] that do not fit {dtype}{Engine.Shape.Format(shape)}");
            var raw = bytes.AsSpan((int)begin, (int)(end - begin));
            result[entry.Name] = new Tensor(ToStorage(dtype, raw, path, entry.Name), shape) { Name = entry.Name };
        }
        return result;
    }

    /// <summary>The file's <c>__metadata__</c> string map (empty when absent).</summary>
    public static Dictionary<string, string> Metadata(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        var header = new byte[BinaryPrimitives.ReadInt64LittleEndian(lengthBytes)];
        stream.ReadExactly(header);
        using var doc = JsonDocument.Parse(header);
        var result = new Dictionary<string, string>();
        if (doc.RootElement.TryGetProperty("__metadata__", out var meta))
            foreach (var p in meta.EnumerateObject()) result[p.Name] = p.Value.GetString() ?? "";
        return result;
    }

    private static Storage ToStorage(string dtype, ReadOnlySpan<byte> raw, string path, string name) => dtype switch
    {
        "F32" => new F32Storage(MemoryMarshal.Cast<byte, float>(raw).ToArray()),
        "F16" => new F16Storage(MemoryMarshal.Cast<byte, Half>(raw).ToArray()),
        "BF16" => new BF16Storage(MemoryMarshal.Cast<byte, ushort>(raw).ToArray()),
        "I8" => new I8Storage(MemoryMarshal.Cast<byte, sbyte>(raw).ToArray()),
        "U8" or "BOOL" => new U8Storage(raw.ToArray()),
        "I32" => new I32Storage(MemoryMarshal.Cast<byte, int>(raw).ToArray()),
        "I64" => new I32Storage(MemoryMarshal.Cast<byte, long>(raw).ToArray().Select(v => checked((int)v)).ToArray()),
        "F64" => new F32Storage(MemoryMarshal.Cast<byte, double>(raw).ToArray().Select(v => (float)v).ToArray()),
        _ => throw new FormatException($"{path}: tensor '{name}' has dtype {dtype}, which Workbench cannot load"),
    };
}
