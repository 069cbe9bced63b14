using System.Text;
using System.Text.Json;
using Workbench.Engine;
using Workbench.Formats;
using Workbench.Tests.Support;

namespace Workbench.Tests.Formats;

public class SafeTensorsWriterTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static Tensor Arange(int n, params int[] shape) => Tensor.FromArray(Enumerable.Range(0, n).Select(i => (float)i).ToArray(), shape);

    private static string HeaderOf(byte[] file) => Encoding.UTF8.GetString(file, 8, (int)BitConverter.ToInt64(file, 0));

    // Byte-exact outputs of the Rust implementation's own tests (safetensors/src/tensor.rs: test_serialization,
    // test_serialization_forced_alignement, test_empty).
    [Fact]
    public void MatchesTheRustSerialisationBytes()
    {
        var path = _dir.File("a.safetensors");
        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["attn.0"] = Arange(6, 1, 2, 3) });
        byte[] expected =
        [
            64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
            116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
            58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
            101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
            0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
        ];
        Assert.Equal(expected, File.ReadAllBytes(path));
    }

    [Fact]
    public void PadsTheHeaderWithSpacesTo8Bytes()
    {
        var path = _dir.File("b.safetensors");
        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["attn0"] = Arange(6, 1, 1, 2, 3) });
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(72, BitConverter.ToInt64(bytes, 0));
        Assert.Equal("{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ", HeaderOf(bytes));
        Assert.Equal(8 + 72 + 24, bytes.Length);
    }

    [Fact]
    public void EmptyFilesMatchRustWithAndWithoutMetadata()
    {
        var path = _dir.File("e.safetensors");
        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor>());
        Assert.Equal([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32], File.ReadAllBytes(path));
        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor>(), new Dictionary<string, string> { ["framework"] = "pt" });
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(40, BitConverter.ToInt64(bytes, 0));
        Assert.Equal("{\"__metadata__\":{\"framework\":\"pt\"}}     ", HeaderOf(bytes));
    }

    [Fact]
    public void SortsByDescendingAlignmentThenName()
    {
        var path = _dir.File("sorted.safetensors");
        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor>
        {
            ["z.i8"] = Tensor.Ones(3).To(DType.I8),
            ["b.bf16"] = Tensor.Ones(3).To(DType.BF16),
            ["a.bf16"] = Tensor.Ones(1).To(DType.BF16),
            ["y.f32"] = Tensor.Ones(1),
            ["x.i32"] = Tensor.Ones(1).To(DType.I32),
            ["c.f16"] = Tensor.Ones(1).To(DType.F16),
        });
        using var reader = SafeTensorsReader.Open(path);
        Assert.Equal(["y.f32", "x.i32", "a.bf16", "b.bf16", "c.f16", "z.i8"], reader.Entries.Select(e => e.Name));
        Assert.Equal([0L, 4, 8, 10, 16, 18], reader.Entries.Select(e => e.Begin));
        // Header order equals data order.
        var header = HeaderOf(File.ReadAllBytes(path));
        Assert.True(header.IndexOf("\"y.f32\"") < header.IndexOf("\"x.i32\"") && header.IndexOf("\"c.f16\"") < header.IndexOf("\"z.i8\""));
    }

    [Fact]
    public void RoundTripsEveryStorageDtypeAndMetadata()
    {
        var rng = new Random(3);
        var f32 = Tensor.Randn(rng, 1f, 4, 6);
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = f32,
            ["f16"] = f32.To(DType.F16),
            ["bf16"] = f32.To(DType.BF16),
            ["i8"] = Tensor.FromArray([-128, -3, 0, 5, 127], 5).To(DType.I8),
            ["u8"] = Tensor.FromArray([0, 7, 255], 3).To(DType.U8),
            ["i32"] = Tensor.FromArray([-70000, 0, 123456], 3).To(DType.I32),
            ["transposed"] = f32.Transpose(0, 1),
            ["한국어.weight"] = Tensor.Ones(2),
        };
        var path = _dir.File("round.safetensors");
        SafeTensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "파인튜닝" });
        var back = SafeTensorsFile.Load(path);
        Assert.Equal(tensors.Keys.Order(), back.Keys.Order());
        foreach (var (name, t) in tensors)
        {
            Assert.Equal(t.DType, back[name].DType);
            Close.Assert(t, back[name], rtol: 0, atol: 0, what: name);
        }
        Assert.Equal("파인튜닝", SafeTensorsFile.Metadata(path)["note"]);
        Assert.Contains("\"한국어.weight\"", HeaderOf(File.ReadAllBytes(path)));
    }

    [Fact]
    public void OverwritesAtomicallyAndLeavesNoTemporaryFiles()
    {
        var path = _dir.File("model.safetensors");
        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["a"] = Tensor.Ones(1000) });
        using (var reader = SafeTensorsReader.Open(path))
        {
            SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["b"] = Tensor.Full(2f, 3) });
            // The open mapping still sees the old file; a new open sees the new one.
            Assert.Equal(1f, reader.Load("a").ToArray()[999]);
        }
        Assert.Equal([2f, 2f, 2f], SafeTensorsFile.Load(path)["b"].ToArray());
        Assert.Equal(["model.safetensors"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void ShardsLikeHuggingFaceAndWritesTheIndex()
    {
        // 400-byte shards, as huggingface_hub splits: a (160) + b (160) open a shard; c (480) is too big and is
        // appended at once as a shard of its own (shard 1); d (80) still joins a + b (exactly 400, shard 2);
        // e (240) would overflow it, so it opens shard 3.
        var tensors = new Dictionary<string, Tensor>
        {
            ["a"] = Arange(40, 40), ["b"] = Arange(40, 4, 10), ["c"] = Arange(120, 120),
            ["d"] = Arange(40, 40).To(DType.F16), ["e"] = Arange(60, 60),
        };
        var written = SafeTensorsWriter.WriteSharded(_dir.Path, tensors, maxShardBytes: 400, new Dictionary<string, string> { ["format"] = "pt" });
        Assert.Equal(["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors", "model.safetensors.index.json"],
            written.Select(Path.GetFileName));

        using var index = JsonDocument.Parse(File.ReadAllText(_dir.File("model.safetensors.index.json")));
        Assert.Equal(160 + 160 + 480 + 80 + 240, index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
        var map = index.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.Equal(["a", "b", "c", "d", "e"], map.Keys);
        Assert.Equal("model-00001-of-00003.safetensors", map["c"]);
        Assert.Equal("model-00002-of-00003.safetensors", map["a"]);
        Assert.Equal("model-00002-of-00003.safetensors", map["d"]);
        Assert.Equal("model-00003-of-00003.safetensors", map["e"]);
        Assert.Equal("pt", SafeTensorsFile.Metadata(_dir.File("model-00002-of-00003.safetensors"))["format"]);

        using var checkpoint = SafeTensorsCheckpoint.Open(_dir.Path);
        Assert.Equal(3, checkpoint.Files.Count);
        Assert.Equal(1120, checkpoint.TotalBytes);
        foreach (var (name, t) in tensors) Close.Assert(t, checkpoint.Load(name), rtol: 0, atol: 0, what: name);
    }

    [Fact]
    public void ResavingAsOneFileRemovesStaleShardsAndIndex()
    {
        var tensors = new Dictionary<string, Tensor> { ["a"] = Tensor.Ones(100), ["b"] = Tensor.Ones(100) };
        SafeTensorsWriter.WriteSharded(_dir.Path, tensors, maxShardBytes: 400);
        Assert.Equal(3, Directory.GetFiles(_dir.Path).Length);
        var written = SafeTensorsWriter.WriteSharded(_dir.Path, tensors, maxShardBytes: 10_000);
        Assert.Equal(["model.safetensors"], written.Select(Path.GetFileName));
        Assert.Equal(["model.safetensors"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
        using var checkpoint = SafeTensorsCheckpoint.Open(_dir.Path);
        Assert.Equal(["a", "b"], checkpoint.Entries.Select(e => e.Name));
    }

    [Fact]
    public void IndexProblemsNameTheIndexTheTensorAndTheShard()
    {
        SafeTensorsWriter.WriteSharded(_dir.Path, new Dictionary<string, Tensor> { ["a"] = Tensor.Ones(100), ["b"] = Tensor.Ones(100) }, maxShardBytes: 400);
        var indexPath = _dir.File("model.safetensors.index.json");
        var original = File.ReadAllText(indexPath);

        File.WriteAllText(indexPath, original.Replace("\"b\": \"model-00002-of-00002.safetensors\"", "\"b\": \"model-00009-of-00009.safetensors\""));
        var ex = Assert.Throws<SafeTensorsException>(() => SafeTensorsCheckpoint.Open(_dir.Path));
        Assert.Equal((indexPath, "b"), (ex.File, ex.Tensor));
        Assert.Contains("model-00009-of-00009.safetensors", ex.Message);

        File.WriteAllText(indexPath, original.Replace("\"b\": \"model-00002-of-00002.safetensors\"", "\"b\": \"model-00001-of-00002.safetensors\""));
        ex = Assert.Throws<SafeTensorsException>(() => SafeTensorsCheckpoint.Open(_dir.Path));
        Assert.Equal((indexPath, "b"), (ex.File, ex.Tensor));
        Assert.Contains("does not list it", ex.Message);

        File.WriteAllText(indexPath, original.Replace("\"b\": \"model-00002-of-00002.safetensors\"", "\"b\": \"../model-00002-of-00002.safetensors\""));
        ex = Assert.Throws<SafeTensorsException>(() => SafeTensorsCheckpoint.Open(_dir.Path));
        Assert.Contains("not a plain shard file name", ex.Message);
        Assert.Equal("b", ex.Tensor);
    }
}
