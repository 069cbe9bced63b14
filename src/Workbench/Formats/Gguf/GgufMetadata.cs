using System.Text;

namespace Workbench.Formats.Gguf;

/// <summary>GGUF metadata value types (gguf.h <c>enum gguf_type</c>).</summary>
public enum GgufValueType : uint
{
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
    String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
}

/// <summary>
/// The key–value section of a GGUF file, in insertion order. Each entry is written as
/// <c>key (u64 length + UTF-8) · u32 type · value</c>; a string is <c>u64 length + UTF-8</c>; an array is
/// <c>u32 element type · u64 count · elements</c>. Only the value types llama.cpp's loader reads for our keys are offered.
/// </summary>
public sealed class GgufMetadata
{
    private readonly List<(string Key, GgufValueType Type, object Value)> _entries = [];

    public IReadOnlyList<(string Key, GgufValueType Type, object Value)> Entries => _entries;
    public int Count => _entries.Count;

    public GgufMetadata Add(string key, string value) => Put(key, GgufValueType.String, value);
    public GgufMetadata Add(string key, uint value) => Put(key, GgufValueType.UInt32, value);
    public GgufMetadata Add(string key, float value) => Put(key, GgufValueType.Float32, value);
    public GgufMetadata Add(string key, bool value) => Put(key, GgufValueType.Bool, value);
    public GgufMetadata Add(string key, string[] values) => Put(key, GgufValueType.Array, values);
    public GgufMetadata Add(string key, float[] values) => Put(key, GgufValueType.Array, values);
    public GgufMetadata Add(string key, int[] values) => Put(key, GgufValueType.Array, values);

    public bool Contains(string key) => _entries.Any(e => e.Key == key);

    public object this[string key] => _entries.First(e => e.Key == key).Value;

    private GgufMetadata Put(string key, GgufValueType type, object value)
    {
        if (Contains(key)) throw new ArgumentException($"GGUF metadata key '{key}' is set twice");
        _entries.Add((key, type, value));
        return this;
    }

    internal void WriteTo(BinaryWriter w)
    {
        foreach (var (key, type, value) in _entries)
        {
            WriteString(w, key);
            w.Write((uint)type);
            switch (value)
            {
                case string s: WriteString(w, s); break;
                case uint u: w.Write(u); break;
                case float f: w.Write(f); break;
                case bool b: w.Write((byte)(b ? 1 : 0)); break;
                case string[] a:
                    w.Write((uint)GgufValueType.String);
                    w.Write((ulong)a.Length);
                    foreach (var s in a) WriteString(w, s);
                    break;
                case float[] a:
                    w.Write((uint)GgufValueType.Float32);
                    w.Write((ulong)a.Length);
                    foreach (var f in a) w.Write(f);
                    break;
                case int[] a:
                    w.Write((uint)GgufValueType.Int32);
                    w.Write((ulong)a.Length);
                    foreach (var i in a) w.Write(i);
                    break;
            }
        }
    }

    internal static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }
}
