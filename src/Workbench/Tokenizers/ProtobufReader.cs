using System.Buffers.Binary;
using System.Text;

namespace Workbench.Tokenizers;

/// <summary>
/// A minimal protobuf wire-format reader: a message is a run of (field number, wire type) tags each
/// followed by a varint (0), 64-bit (1), length-delimited bytes (2) or 32-bit (5) value.
/// </summary>
public ref struct ProtobufReader(ReadOnlySpan<byte> data)
{
    readonly ReadOnlySpan<byte> data = data;
    int pos;

    public bool AtEnd => pos >= data.Length;

    /// <summary>Reads the next tag: field number and wire type.</summary>
    public (int Field, int WireType) ReadTag()
    {
        ulong tag = ReadVarint();
        return ((int)(tag >> 3), (int)(tag & 7));
    }

    public ulong ReadVarint()
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (pos >= data.Length) throw new FormatException("protobuf: varint runs past the end of the message");
            byte b = data[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new FormatException("protobuf: varint longer than 10 bytes");
    }

    public float ReadFloat() => BinaryPrimitives.ReadSingleLittleEndian(Take(4));

    public ReadOnlySpan<byte> ReadBytes() => Take(checked((int)ReadVarint()));

    public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

    /// <summary>Skips a value of the given wire type (fields this reader does not need).</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case 0: ReadVarint(); break;
            case 1: Take(8); break;
            case 2: ReadBytes(); break;
            case 5: Take(4); break;
            default: throw new FormatException($"protobuf: unsupported wire type {wireType} at byte {pos}");
        }
    }

    ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0 || pos + n > data.Length) throw new FormatException($"protobuf: field of {n} bytes at byte {pos} runs past the end ({data.Length})");
        var span = data.Slice(pos, n);
        pos += n;
        return span;
    }
}
