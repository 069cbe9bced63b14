using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Workbench.Engine;

namespace Workbench.Formats;

/// <summary>
/// Writes safetensors files as the Rust implementation does: tensors sorted by descending dtype alignment then
/// by name, laid out back to back; the header JSON (<c>__metadata__</c> first, then tensors in data order) padded
/// with spaces to a multiple of 8 bytes so every tensor starts 8-byte aligned. Each file is written through
/// <see cref="AtomicFile"/>, so a reader never sees half a file.
/// Tensors are written in their storage dtype; a non-contiguous tensor is first copied contiguous (through
/// fp32, so a non-contiguous I32 view keeps integers exact only up to 2^24).
/// </summary>
public static partial class SafeTensorsWriter
{
    private static readonly JsonWriterOptions HeaderJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var ordered = tensors
            .Select(kv => (Name: kv.Key, Tensor: kv.Value.IsContiguous ? kv.Value : kv.Value.To(kv.Value.DType), DType: SafeTensorsDType.NameOf(kv.Value.DType)))
            .OrderByDescending(t => SafeTensorsDType.Rank(t.DType))
            .ThenBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
        var header = HeaderBytes(ordered.Select(t => (t.Name, t.DType, t.Tensor.Shape, t.Tensor.Numel)), metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var t in ordered) WriteData(stream, t.Tensor);
        });
    }

    /// <summary>
    /// Hugging Face sharding (huggingface_hub's split_state_dict_into_shards): tensors taken in dictionary order
    /// fill a shard until the next would push it past <paramref name="maxShardBytes"/>; a tensor bigger than that
    /// gets a shard of its own, added at once, while the current shard keeps filling. One shard is written
    /// as <c>model.safetensors</c>; several as <c>model-00001-of-00003.safetensors</c>… plus
    /// <c>model.safetensors.index.json</c>. Shards and an index left by an earlier save that this one does not
    /// write are deleted. Returns the files written, index last.
    /// </summary>
    public static IReadOnlyList<string> WriteSharded(string directory, IReadOnlyDictionary<string, Tensor> tensors, long maxShardBytes,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (maxShardBytes <= 0) throw new ArgumentOutOfRangeException(nameof(maxShardBytes), maxShardBytes, "must be positive");
        Directory.CreateDirectory(directory);
        var shards = new List<Dictionary<string, Tensor>>();
        var current = new Dictionary<string, Tensor>();
        long currentBytes = 0;
        foreach (var (name, tensor) in tensors)
        {
            long bytes = tensor.Numel * DTypeInfo.SizeOf(tensor.DType);
            if (bytes > maxShardBytes)
            {
                shards.Add(new() { [name] = tensor });
                continue;
            }
            if (currentBytes + bytes > maxShardBytes)
            {
                shards.Add(current);
                current = [];
                currentBytes = 0;
            }
            current[name] = tensor;
            currentBytes += bytes;
        }
        if (current.Count > 0 || shards.Count == 0) shards.Add(current);

        var names = shards.Count == 1
            ? [SafeTensorsCheckpoint.SingleFileName]
            : shards.Select((_, i) => $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors").ToList();
        var written = new List<string>();
        for (int i = 0; i < shards.Count; i++)
        {
            var path = Path.Combine(directory, names[i]);
            Write(path, shards[i], metadata);
            written.Add(path);
        }
        var indexPath = Path.Combine(directory, SafeTensorsCheckpoint.IndexFileName);
        if (shards.Count > 1)
        {
            var weightMap = shards.SelectMany((s, i) => s.Keys.Select(k => (k, names[i])));
            WriteIndex(indexPath, tensors.Values.Sum(t => t.Numel * DTypeInfo.SizeOf(t.DType)), weightMap);
            written.Add(indexPath);
        }
        RemoveStale(directory, written);
        return written;
    }

    /// <summary>The padded header: <c>{"__metadata__":{…},"name":{"dtype":…,"shape":[…],"data_offsets":[b,e]},…}</c>.</summary>
    internal static byte[] HeaderBytes(IEnumerable<(string Name, string DType, int[] Shape, long Numel)> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, HeaderJson))
        {
            json.WriteStartObject();
            if (metadata is not null)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, dtype, shape, numel) in tensors)
            {
                long end = offset + numel * SafeTensorsDType.SizeOf(dtype);
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (var d in shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(end);
                json.WriteEndArray();
                json.WriteEndObject();
                offset = end;
            }
            json.WriteEndObject();
        }
        // Pad with spaces so the data section, and every tensor in it, starts 8-byte aligned.
        while (buffer.Length % 8 != 0) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    private static void WriteData(Stream stream, Tensor t)
    {
        int start = checked((int)t.Offset);
        long count = t.Numel;
        switch (t.Storage)
        {
            case F32Storage s: WriteElements(stream, s.Data, start, count); break;
            case F16Storage s: WriteElements(stream, s.Data, start, count); break;
            case BF16Storage s: WriteElements(stream, s.Data, start, count); break;
            case I8Storage s: WriteElements(stream, s.Data, start, count); break;
            case U8Storage s: WriteElements(stream, s.Data, start, count); break;
            case I32Storage s: WriteElements(stream, s.Data, start, count); break;
            default: throw new ArgumentException($"SafeTensorsWriter: tensor {t} has storage {t.Storage.GetType().Name}, which has no safetensors dtype");
        }
    }

    /// <summary>Little-endian element bytes, in chunks so tensors over 2 GB still write.</summary>
    private static void WriteElements<T>(Stream stream, T[] data, int start, long count) where T : unmanaged
    {
        const int Chunk = 1 << 24;
        for (long done = 0; done < count; done += Chunk)
        {
            int n = (int)Math.Min(Chunk, count - done);
            stream.Write(MemoryMarshal.AsBytes(data.AsSpan(start + (int)done, n)));
        }
    }

    private static void WriteIndex(string path, long totalSize, IEnumerable<(string Tensor, string Shard)> weightMap)
    {
        AtomicFile.Write(path, stream =>
        {
            using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = HeaderJson.Encoder }))
            {
                json.WriteStartObject();
                json.WriteStartObject("metadata");
                json.WriteNumber("total_size", totalSize);
                json.WriteEndObject();
                json.WriteStartObject("weight_map");
                foreach (var (tensor, shard) in weightMap.OrderBy(w => w.Tensor, StringComparer.Ordinal)) json.WriteString(tensor, shard);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            stream.WriteByte((byte)'\n');
        });
    }

    [GeneratedRegex(@"^model-\d{5}-of-\d{5}\.safetensors$")]
    private static partial Regex ShardName();

    private static void RemoveStale(string directory, List<string> written)
    {
        var keep = new HashSet<string>(written.Select(Path.GetFileName)!);
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            var name = Path.GetFileName(file);
            if (!keep.Contains(name) && (ShardName().IsMatch(name) || name == SafeTensorsCheckpoint.IndexFileName
                                         || (name == SafeTensorsCheckpoint.SingleFileName && written.Count > 1)))
                File.Delete(file);
        }
    }
}
