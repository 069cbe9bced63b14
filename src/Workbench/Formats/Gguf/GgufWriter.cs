namespace Workbench.Formats.Gguf;

/// <summary>One tensor of a GGUF file: its name, its shape in PyTorch order (outermost first) and its ggml type.</summary>
public sealed record GgufTensorInfo(string Name, long[] Shape, GgmlType Type)
{
    /// <summary>Row length: the innermost dimension, ggml's ne[0].</summary>
    public long RowLength => Shape.Length == 0 ? 1 : Shape[^1];
    public long Rows => Shape.Length == 0 ? 1 : Shape[..^1].Aggregate(1L, (a, b) => a * b);
    public long ByteLength => Rows * GgmlTypes.RowBytes(Type, RowLength);
}

/// <summary>
/// Writes GGUF version 3 (ggml's docs/gguf.md, gguf-py's GGUFWriter), little-endian:
/// <code>
/// u32 magic "GGUF" · u32 version 3 · u64 tensor count · u64 metadata count
/// metadata entries (see GgufMetadata)
/// per tensor: name (u64 length + UTF-8) · u32 n_dims · u64 ne[n_dims] (innermost first) · u32 ggml type · u64 offset
/// zero padding to the alignment (general.alignment, 32 by default)
/// tensor data, each tensor starting at an aligned offset from the data section's start and zero-padded after (the last too, as gguf-py does)
/// </code>
/// The header is written first from the tensors' shapes and types alone; then each tensor's bytes are asked for in
/// turn, so a caller can stream a model tensor by tensor without holding it whole.
/// </summary>
public static class GgufWriter
{
    public const uint Magic = 0x46554747; // "GGUF" read as a little-endian u32
    public const uint Version = 3;
    public const int Alignment = 32;

    /// <param name="writeData">Called once per tensor, in order, to write exactly <see cref="GgufTensorInfo.ByteLength"/> bytes.</param>
    public static void Write(Stream stream, GgufMetadata metadata, IReadOnlyList<GgufTensorInfo> tensors, Action<int, Stream> writeData)
    {
        var names = new HashSet<string>();
        foreach (var t in tensors)
            if (!names.Add(t.Name)) throw new ArgumentException($"GGUF tensor '{t.Name}' is listed twice");
        using (var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(Version);
            w.Write((ulong)tensors.Count);
            w.Write((ulong)metadata.Count);
            metadata.WriteTo(w);
            long offset = 0;
            foreach (var t in tensors)
            {
                GgufMetadata.WriteString(w, t.Name);
                w.Write((uint)t.Shape.Length);
                for (int d = t.Shape.Length - 1; d >= 0; d--) w.Write((ulong)t.Shape[d]);
                w.Write((uint)t.Type);
                w.Write((ulong)offset);
                offset = Align(offset + t.ByteLength);
            }
        }
        Pad(stream);
        long dataStart = stream.Position;
        for (int i = 0; i < tensors.Count; i++)
        {
            long begin = stream.Position;
            writeData(i, stream);
            long written = stream.Position - begin;
            if (written != tensors[i].ByteLength)
                throw new InvalidOperationException($"GGUF tensor '{tensors[i].Name}': {written} bytes written, its header promises {tensors[i].ByteLength}");
            Pad(stream, dataStart);
        }
    }

    public static long Align(long n) => (n + Alignment - 1) / Alignment * Alignment;

    private static void Pad(Stream stream, long origin = 0)
    {
        long pad = Align(stream.Position - origin) - (stream.Position - origin);
        for (long i = 0; i < pad; i++) stream.WriteByte(0);
    }
}
