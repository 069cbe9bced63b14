using System.Text.Json;

namespace Workbench.Formats;

/// <summary>One tensor of a safetensors header. Begin/End are byte offsets inside the data section.</summary>
public sealed record SafeTensorsEntry(string Name, string DType, int[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
    public long Numel => Engine.Shape.Numel(Shape);
    public override string ToString() => $"{Name} {DType}{Engine.Shape.Format(Shape)}";
}

/// <summary>
/// The JSON header of a safetensors file, checked as untrusted input the way the Rust reader does: a JSON
/// object; every entry has a known dtype, a shape of non-negative integers and two data_offsets; dtype size ×
/// element count equals the byte range; sorted by offset, the ranges tile the data section exactly (no overlap,
/// no gap, nothing left over). <c>__metadata__</c> is an optional string → string map.
/// </summary>
public sealed class SafeTensorsHeader
{
    /// <summary>The Rust reader's bound on the header length (100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>Entries in data-offset order.</summary>
    public IReadOnlyList<SafeTensorsEntry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private SafeTensorsHeader(List<SafeTensorsEntry> entries, Dictionary<string, string> metadata)
    {
        Entries = entries;
        Metadata = metadata;
    }

    /// <summary>Checks the 8-byte length prefix against the file size; returns the header length.</summary>
    public static long CheckLength(string file, ulong headerLength, long fileLength)
    {
        if (fileLength < 8)
            throw new SafeTensorsException(file, null, $"file is {fileLength} bytes, too short for the 8-byte header length");
        if (headerLength < 2 || headerLength > (ulong)MaxHeaderBytes)
            throw new SafeTensorsException(file, null, $"header length {headerLength} is outside [2, {MaxHeaderBytes}]");
        if (8 + (long)headerLength > fileLength)
            throw new SafeTensorsException(file, null, $"header length {headerLength} runs past the end of the file ({fileLength} bytes): truncated?");
        return (long)headerLength;
    }

    /// <summary>Parses and validates <paramref name="json"/>; <paramref name="dataLength"/> is the size of the data section.</summary>
    public static SafeTensorsHeader Parse(string file, ReadOnlyMemory<byte> json, long dataLength)
    {
        // names are decoded lazily by the JSON reader: check the bytes first, or a bad one surfaces as a crash later
        if (!System.Text.Unicode.Utf8.IsValid(json.Span)) throw new SafeTensorsException(file, null, "header is not valid UTF-8");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new SafeTensorsException(file, null, $"header is not valid JSON ({e.Message})"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new SafeTensorsException(file, null, $"header is a JSON {doc.RootElement.ValueKind}, not an object");
            var entries = new List<SafeTensorsEntry>();
            var metadata = new Dictionary<string, string>();
            var seen = new HashSet<string>();
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name)) throw new SafeTensorsException(file, property.Name, "appears twice in the header");
                if (property.Name == "__metadata__") ReadMetadata(file, property.Value, metadata);
                else entries.Add(ReadEntry(file, property.Name, property.Value, dataLength));
            }
            CheckTiling(file, entries, dataLength);
            return new SafeTensorsHeader(entries, metadata);
        }
    }

    private static void ReadMetadata(string file, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafeTensorsException(file, null, $"__metadata__ is a JSON {value.ValueKind}, not an object of strings");
        foreach (var p in value.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw new SafeTensorsException(file, null, $"__metadata__ value '{p.Name}' is a JSON {p.Value.ValueKind}, not a string");
            metadata[p.Name] = p.Value.GetString()!;
        }
    }

    private static SafeTensorsEntry ReadEntry(string file, string name, JsonElement value, long dataLength)
    {
        SafeTensorsException Bad(string problem) => new(file, name, problem);
        if (value.ValueKind != JsonValueKind.Object) throw Bad($"entry is a JSON {value.ValueKind}, not an object");

        if (!value.TryGetProperty("dtype", out var dtypeElement)) throw Bad("entry has no 'dtype'");
        var dtype = dtypeElement.ValueKind == JsonValueKind.String ? dtypeElement.GetString()! : throw Bad("'dtype' is not a string");
        if (!SafeTensorsDType.IsKnown(dtype)) throw Bad($"unknown dtype '{dtype}'");

        if (!value.TryGetProperty("shape", out var shapeElement)) throw Bad("entry has no 'shape'");
        if (shapeElement.ValueKind != JsonValueKind.Array) throw Bad("'shape' is not an array");
        var shape = new int[shapeElement.GetArrayLength()];
        int k = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0 || dim > int.MaxValue)
                throw Bad($"shape {shapeElement.GetRawText()} has a dimension that is not an integer in [0, {int.MaxValue}]");
            shape[k++] = (int)dim;
        }

        if (!value.TryGetProperty("data_offsets", out var offsetsElement)) throw Bad("entry has no 'data_offsets'");
        if (offsetsElement.ValueKind != JsonValueKind.Array || offsetsElement.GetArrayLength() != 2)
            throw Bad($"'data_offsets' {offsetsElement.GetRawText()} is not an array of two integers");
        var offsets = new long[2];
        k = 0;
        foreach (var o in offsetsElement.EnumerateArray())
        {
            if (o.ValueKind != JsonValueKind.Number || !o.TryGetInt64(out offsets[k]) || offsets[k] < 0)
                throw Bad($"'data_offsets' {offsetsElement.GetRawText()} is not an array of two non-negative integers");
            k++;
        }
        long begin = offsets[0], end = offsets[1];
        if (begin > end) throw Bad($"data_offsets [{begin}, {end}] end before they begin");
        if (end > dataLength) throw Bad($"data_offsets [{begin}, {end}] run past the data section ({dataLength} bytes): truncated?");

        long expected;
        try { expected = checked(Engine.Shape.Numel(shape) * SafeTensorsDType.SizeOf(dtype)); }
        catch (OverflowException) { throw Bad($"{dtype}{Engine.Shape.Format(shape)} overflows a 64-bit byte count"); }
        if (end - begin != expected)
            throw Bad($"{dtype}{Engine.Shape.Format(shape)} needs {expected} bytes but data_offsets [{begin}, {end}] hold {end - begin}");
        return new SafeTensorsEntry(name, dtype, shape, begin, end);
    }

    /// <summary>Sorted by offset, each range must start where the previous ended, and the last end at the data's end.</summary>
    private static void CheckTiling(string file, List<SafeTensorsEntry> entries, long dataLength)
    {
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long at = 0;
        SafeTensorsEntry? previous = null;
        foreach (var e in entries)
        {
            if (e.Begin < at)
                throw new SafeTensorsException(file, e.Name, $"data_offsets [{e.Begin}, {e.End}] overlap tensor '{previous!.Name}' [{previous.Begin}, {previous.End}]");
            if (e.Begin > at)
                throw new SafeTensorsException(file, e.Name, $"data_offsets [{e.Begin}, {e.End}] leave a gap of {e.Begin - at} bytes after {(previous is null ? "the header" : $"tensor '{previous.Name}'")}");
            at = e.End;
            previous = e;
        }
        if (at != dataLength)
            throw new SafeTensorsException(file, previous?.Name,
                $"the data section is {dataLength} bytes but the tensors end at byte {at}: {dataLength - at} trailing bytes");
    }
}
