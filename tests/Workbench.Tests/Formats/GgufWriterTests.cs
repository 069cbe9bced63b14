using System.Buffers.Binary;
using System.Text;
using Workbench.Formats.Gguf;

namespace Workbench.Tests.Formats;

/// <summary>The GGUF v3 layout and ggml's Q8_0/Q4_0 blocks, on values whose encodings are worked out by hand.</summary>
public class GgufWriterTests
{
    [Fact]
    public void Q8_0RoundsHalfAwayFromZeroOnTheScaleOfTheLargestMagnitude()
    {
        var x = new float[32];
        float[] head = [127f, -127f, 63.5f, 0.5f, -0.5f, 1.49f, -63.5f];   // max |x| = 127 → d = 1, id = 1
        head.CopyTo(x, 0);
        var block = new byte[GgmlBlocks.Q8_0Bytes];
        GgmlBlocks.QuantizeQ8_0(x, block);
        Assert.Equal((Half)1f, BinaryPrimitives.ReadHalfLittleEndian(block));
        Assert.Equal(new sbyte[] { 127, -127, 64, 1, -1, 1, -64, 0 }, block[2..10].Select(b => (sbyte)b));
        Assert.Equal([127f, -127f, 64f, 1f, -1f, 1f, -64f, 0f], GgmlBlocks.DequantizeQ8_0(block)[..8]);
    }

    [Fact]
    public void Q4_0ScalesByTheSignedLargestElementAndPacksLowHalfInTheLowNibble()
    {
        var x = new float[32];
        float[] head = [-8f, 7f, 7.6f, 0f, 0.4f, -0.6f];                  // the largest |x| is −8 → d = −8/−8 = 1
        head.CopyTo(x, 0);
        x[16] = 3f;                                                      // pairs with x[0] in byte 0's high nibble
        var block = new byte[GgmlBlocks.Q4_0Bytes];
        GgmlBlocks.QuantizeQ4_0(x, block);
        Assert.Equal((Half)1f, BinaryPrimitives.ReadHalfLittleEndian(block));
        // q = min(15, trunc(x + 8.5)): −8 → 0, 7 → 15, 7.6 → 15 (16.1 clamped), 0 → 8, 0.4 → 8, −0.6 → 7; x[16] = 3 → 11
        Assert.Equal(new byte[] { 0 | 11 << 4, 15 | 8 << 4, 15 | 8 << 4, 8 | 8 << 4, 8 | 8 << 4, 7 | 8 << 4 }, block[2..8]);
        Assert.Equal([-8f, 7f, 7f, 0f, 0f, -1f], GgmlBlocks.DequantizeQ4_0(block)[..6]);
    }

    [Fact]
    public void TheFileIsGgufV3WithReversedDimsAndAlignedData()
    {
        var metadata = new GgufMetadata().Add("general.architecture", "llama").Add("llama.block_count", 2u)
            .Add("tokenizer.ggml.tokens", ["a", "b"]).Add("flag", true);
        GgufTensorInfo[] tensors = [new("t.weight", [3, 32], GgmlType.F16), new("n.weight", [5], GgmlType.F32)];
        using var stream = new MemoryStream();
        GgufWriter.Write(stream, metadata, tensors, (i, s) => s.Write(new byte[tensors[i].ByteLength]));
        var r = new BinaryReader(new MemoryStream(stream.ToArray()));
        Assert.Equal("GGUF", Encoding.ASCII.GetString(r.ReadBytes(4)));
        Assert.Equal(3u, r.ReadUInt32());
        Assert.Equal(2ul, r.ReadUInt64());
        Assert.Equal(4ul, r.ReadUInt64());
        Assert.Equal("general.architecture", Str(r));
        Assert.Equal((uint)GgufValueType.String, r.ReadUInt32());
        Assert.Equal("llama", Str(r));
        Assert.Equal("llama.block_count", Str(r));
        Assert.Equal((uint)GgufValueType.UInt32, r.ReadUInt32());
        Assert.Equal(2u, r.ReadUInt32());
        Assert.Equal("tokenizer.ggml.tokens", Str(r));
        Assert.Equal((uint)GgufValueType.Array, r.ReadUInt32());
        Assert.Equal((uint)GgufValueType.String, r.ReadUInt32());
        Assert.Equal(2ul, r.ReadUInt64());
        Assert.Equal(["a", "b"], new[] { Str(r), Str(r) });
        Assert.Equal("flag", Str(r));
        Assert.Equal((uint)GgufValueType.Bool, r.ReadUInt32());
        Assert.Equal(1, r.ReadByte());
        // tensor infos: ne[0] is the row length (PyTorch's last dimension); offsets are 32-aligned from the data start
        Assert.Equal("t.weight", Str(r));
        Assert.Equal(2u, r.ReadUInt32());
        Assert.Equal([32ul, 3ul], new[] { r.ReadUInt64(), r.ReadUInt64() });
        Assert.Equal((uint)GgmlType.F16, r.ReadUInt32());
        Assert.Equal(0ul, r.ReadUInt64());
        Assert.Equal("n.weight", Str(r));
        Assert.Equal(1u, r.ReadUInt32());
        Assert.Equal(5ul, r.ReadUInt64());
        Assert.Equal((uint)GgmlType.F32, r.ReadUInt32());
        Assert.Equal(192ul, r.ReadUInt64());                           // 3·32·2 = 192 bytes, already aligned
        long dataStart = GgufWriter.Align(r.BaseStream.Position);
        Assert.Equal(dataStart + 192 + GgufWriter.Align(20), stream.Length);
    }

    [Fact]
    public void AWriterThatWritesTheWrongByteCountIsCaught()
    {
        using var stream = new MemoryStream();
        var e = Assert.Throws<InvalidOperationException>(() => GgufWriter.Write(stream, new GgufMetadata(),
            [new GgufTensorInfo("x", [4], GgmlType.F32)], (_, s) => s.Write(new byte[12])));
        Assert.Contains("'x': 12 bytes written, its header promises 16", e.Message);
    }

    private static string Str(BinaryReader r) => Encoding.UTF8.GetString(r.ReadBytes(checked((int)r.ReadUInt64())));
}
