using Workbench.Engine;
using Workbench.Formats;
using Workbench.Tests.Support;

namespace Workbench.Tests.Formats;

public class SafeTensorsReaderTests
{
    private static readonly string Dtypes = Fixtures.PathOf("formats/dtypes.safetensors");

    [Theory]
    [InlineData("f16", DType.F16)]
    [InlineData("bf16", DType.BF16)]
    [InlineData("i8", DType.I8)]
    [InlineData("u8", DType.U8)]
    [InlineData("f64", DType.F32)]
    [InlineData("i64", DType.I32)]
    public void EachDtypeLoadsIntoItsStorageAndWidensAsPyTorchDoes(string name, DType storage)
    {
        var all = SafeTensorsFile.Load(Dtypes);
        Assert.Equal(storage, all[name].DType);
        // PyTorch's own .to(float32) of the same tensor: widening is exact, F64 → F32 rounds to nearest like torch.
        Close.Assert(all[name + "_f32"], all[name], rtol: 0, atol: 0, what: name);
    }

    [Fact]
    public void IntegersKeepEveryBit()
    {
        var all = SafeTensorsFile.Load(Dtypes);
        Assert.Equal([int.MinValue, -1, 0, 1, int.MaxValue], ((I32Storage)all["i32"].Storage).Data);
        Assert.Equal([int.MinValue, -7, 0, int.MaxValue], ((I32Storage)all["i64"].Storage).Data);
        Assert.Equal([(sbyte)-128, (sbyte)-1, (sbyte)0, (sbyte)1, (sbyte)64, (sbyte)127], ((I8Storage)all["i8"].Storage).Data);
        Assert.Equal([(byte)0, (byte)1, (byte)128, (byte)255], ((U8Storage)all["u8"].Storage).Data);
    }

    [Fact]
    public void ScalarsAndEmptyTensorsLoad()
    {
        var all = SafeTensorsFile.Load(Dtypes);
        Assert.Empty(all["scalar"].Shape);
        Assert.Equal(2.5f, all["scalar"].Item());
        Assert.Equal([0, 4], all["empty"].Shape);
        Assert.Equal(0, all["empty"].Numel);
    }

    [Fact]
    public void MetadataIsTheStringMap()
    {
        var meta = SafeTensorsFile.Metadata(Dtypes);
        Assert.Equal("pt", meta["format"]);
        Assert.Equal("make_formats.py", meta["source"]);
        Assert.Equal(2, meta.Count);
    }

    [Fact]
    public void OpenListsTheHeaderAndLoadsOneTensorOnDemand()
    {
        using var reader = SafeTensorsReader.Open(Dtypes);
        Assert.Equal(17, reader.Entries.Count);
        var bf16 = reader.Entry("bf16");
        Assert.Equal(("BF16", 90L, 120L), (bf16.DType, bf16.Begin, bf16.End));
        Assert.Equal([3, 5], bf16.Shape);
        Assert.True(reader.Contains("f32"));
        Assert.False(reader.Contains("nope"));
        var t = reader.Load("f16");
        Assert.Equal("f16", t.Name);
        Assert.Equal(DType.F16, t.DType);
        var ex = Assert.Throws<SafeTensorsException>(() => reader.Load("nope"));
        Assert.Contains("dtypes.safetensors", ex.Message);
        Assert.Contains("'nope'", ex.Message);
    }

    [Fact]
    public void OpeningReadsOnlyTheHeaderEvenPast4GB()
    {
        // A sparse file: a 4 GiB F32 tensor nobody writes, then a small one at offset 2^32. Opening maps the file
        // and parses the header only; loading "small" reads 8 bytes past the 4 GiB mark.
        using var dir = new TempDir();
        var path = dir.File("sparse.safetensors");
        var header = System.Text.Encoding.UTF8.GetBytes(
            "{\"big\":{\"dtype\":\"F32\",\"shape\":[1073741824],\"data_offsets\":[0,4294967296]},\"small\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4294967296,4294967304]}}");
        using (var f = File.Create(path))
        {
            f.Write(BitConverter.GetBytes((long)header.Length));
            f.Write(header);
            f.Position = 8 + header.Length + (1L << 32); // skipping ahead leaves a hole, not written zeros
            f.Write(BitConverter.GetBytes(1.5f));
            f.Write(BitConverter.GetBytes(-2f));
        }
        using var reader = SafeTensorsReader.Open(path);
        Assert.Equal(["big", "small"], reader.Entries.Select(e => e.Name));
        Assert.Equal(1L << 30, reader.Entry("big").Numel);
        Assert.Equal([1.5f, -2f], reader.Load("small").ToArray());
    }

    [Fact]
    public void DisposedReaderRefusesToLoad()
    {
        var reader = SafeTensorsReader.Open(Dtypes);
        reader.Dispose();
        Assert.Throws<ObjectDisposedException>(() => reader.Load("f32"));
    }

    [Fact]
    public void Stories260KHeaderDescribesARealCheckpoint()
    {
        var path = RepoPaths.Data("models/stories260K/model.safetensors");
        using var reader = SafeTensorsReader.Open(path);
        Assert.Equal(47, reader.Entries.Count);
        Assert.All(reader.Entries, e => Assert.Equal("F32", e.DType));
        Assert.Equal(260_032, reader.Entries.Sum(e => e.Numel));
        Assert.Equal(new FileInfo(path).Length - 8 - 4848, reader.DataLength);
        var embed = reader.Load("model.embed_tokens.weight");
        Assert.Equal([512, 64], embed.Shape);
        Assert.All(embed.ToArray(), v => Assert.True(float.IsFinite(v) && MathF.Abs(v) < 10));
    }

    [Theory]
    // OCP 8-bit float encodings: E4M3 max 448, smallest subnormal 2^-9, NaN at S.1111.111; E5M2 max 57344, infinity 0x7C.
    [InlineData(0x38, 1f, 0x3C, 1f)]
    [InlineData(0xB8, -1f, 0xBC, -1f)]
    [InlineData(0x7E, 448f, 0x7B, 57344f)]
    [InlineData(0x01, 0.001953125f, 0x01, 1.52587890625e-05f)]
    [InlineData(0x00, 0f, 0x7C, float.PositiveInfinity)]
    [InlineData(0x7F, float.NaN, 0x7F, float.NaN)]
    public void Float8DecodesTheOcpEncodings(int e4m3, float e4m3Value, int e5m2, float e5m2Value)
    {
        Assert.Equal(e4m3Value, SafeTensorsDecode.Float8E4M3((byte)e4m3));
        Assert.Equal(e5m2Value, SafeTensorsDecode.Float8E5M2((byte)e5m2));
    }
}
