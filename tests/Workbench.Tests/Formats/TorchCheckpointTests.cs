using System.Text.Json.Nodes;
using Workbench.Engine;
using Workbench.Formats;
using Workbench.Formats.Pickle;
using Workbench.Models;
using Workbench.Tests.Support;

namespace Workbench.Tests.Formats;

/// <summary>
/// pytorch_model.bin files written by torch.save (tests/fixtures/make_torch_bins.py, PyTorch 1.13) load through the
/// restricted unpickler with exactly the values of their safetensors twins, and hostile pickles are refused with the
/// file and the global named.
/// </summary>
[Collection("Console")]
public class TorchCheckpointTests
{
    private static readonly string Stories = RepoPaths.Data("models/stories260K");
    private static string Bins(string name) => Support.Fixtures.PathOf($"torch_bins/{name}");

    public static TheoryData<string, DType> StoriesTwins => new()
    {
        { "stories260K_f32", DType.F32 },        // zip, float32
        { "stories260K_bf16", DType.BF16 },      // zip, bfloat16 (torch rounds to nearest even, as Tensor.To does)
        { "stories260K_f16_sharded", DType.F16 },// two zip shards and pytorch_model.bin.index.json
    };

    [Theory]
    [MemberData(nameof(StoriesTwins))]
    public void TorchSaveOfStoriesLoadsAsItsSafetensorsTwin(string folder, DType dtype)
    {
        var fromBin = CausalLM.Load(Bins(folder));
        var twin = CausalLM.Load(Stories, dtype == DType.F32 ? null : dtype);
        foreach (var ((name, a), (_, b)) in fromBin.NamedParameters().Zip(twin.NamedParameters()))
        {
            Assert.Equal(b.DType, a.DType);
            Assert.True(b.ToArray().SequenceEqual(a.ToArray()), $"{folder}: {name} differs from its safetensors twin");
        }
        int[] ids = [1, 403, 407, 261, 378];
        Assert.Equal(twin.Logits(ids, 1, ids.Length), fromBin.Logits(ids, 1, ids.Length));
    }

    /// <summary>The legacy (non-zip) layout, with a strided view and two tensors sharing one storage.</summary>
    [Fact]
    public void LegacyTorchSaveLoadsStridedAndSharedTensors()
    {
        var fromBin = CausalLM.Load(Bins("neox_legacy"));
        var twin = CausalLM.Load(Support.Fixtures.PathOf("models/neox_parallel"));
        foreach (var ((name, a), (_, b)) in fromBin.NamedParameters().Zip(twin.NamedParameters()))
            Assert.True(b.ToArray().SequenceEqual(a.ToArray()), $"neox_legacy: {name} differs from its safetensors twin");
        int[] ids = [3, 17, 42, 5];
        Assert.Equal(twin.Logits(ids, 1, ids.Length), fromBin.Logits(ids, 1, ids.Length));
    }

    [Theory]
    [InlineData("os_system", "posix.system")]
    [InlineData("eval", "__builtin__.eval")]              // protocol 2 spells builtins as Python 2 did
    [InlineData("builtins_getattr", "__builtin__.getattr")]
    public void HostileTorchSaveFilesAreRefusedNamingTheGlobal(string name, string global)
    {
        var path = Bins($"hostile/{name}.bin");
        var e = Assert.Throws<PickleException>(() => TorchCheckpointFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains($"refused global '{global}'", e.Message);

        using var dir = new TempDir();       // the same file where a model folder's weights are read: every command
        File.Copy(Support.Fixtures.PathOf("torch_bins/stories260K_f32/config.json"), dir.File("config.json"));
        File.Copy(path, dir.File("pytorch_model.bin"));
        var load = Assert.Throws<PickleException>(() => CausalLM.Load(dir.Path));
        Assert.Contains(global, load.Message);
        var (code, _, err) = WbCli.Run("convert", dir.Path, "--out", dir.File("out"));
        Assert.Equal(2, code);
        Assert.Contains($"refused global '{global}'", err);
        Assert.False(File.Exists("/tmp/wb-pwned"));
    }

    [Theory]
    [InlineData("nested_reduce", "REDUCE of a PickleDict value")]
    [InlineData("inst", "refused global 'os.system'")]
    [InlineData("persid_not_storage", "is not a torch storage")]
    public void HostileRawPicklesAreRefused(string name, string expected)
    {
        var path = Bins($"hostile/{name}.pkl");
        using var stream = File.OpenRead(path);
        var e = Assert.Throws<PickleException>(() => RestrictedUnpickler.Load(stream, path));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith(path, e.Message);
    }

    [Fact]
    public void ALengthBeyondTheFileIsRefusedBeforeAllocating()
    {
        using var stream = new MemoryStream([0x80, 0x02, (byte)'X', 0xff, 0xff, 0xff, 0x7f, (byte)'a']);   // BINUNICODE of 2 GiB
        var e = Assert.Throws<PickleException>(() => RestrictedUnpickler.Load(stream, "x.pkl"));
        Assert.Contains("claims 2147483647 bytes", e.Message);
    }

    [Fact]
    public void AnUnknownOpcodeIsRefusedByName()
    {
        using var stream = new MemoryStream([0x80, 0x02, (byte)'i', (byte)'\n']);
        var e = Assert.Throws<PickleException>(() => RestrictedUnpickler.Load(stream, "x.pkl"));
        Assert.Contains("0x69 (INST)", e.Message);
    }

    [Fact]
    public void ConvertWritesTheSafetensorsEquivalent()
    {
        using var dir = new TempDir();
        var (code, stdout, err) = WbCli.Run("convert", Bins("stories260K_f16_sharded"), "--out", dir.File("out"), "--json");
        Assert.True(code == 0, err);
        var files = JsonNode.Parse(stdout)!["files"]!.AsArray().Select(f => f!.GetValue<string>()).ToList();
        Assert.Equal(["model.safetensors", "config.json"], files);
        var converted = SafeTensorsFile.Load(dir.File("out/model.safetensors"));
        using var source = SafeTensorsCheckpoint.Open(Bins("stories260K_f16_sharded"));
        Assert.Equal(source.Entries.Select(e => e.Name).Order(), converted.Keys.Order());
        foreach (var e in source.Entries)
            Assert.True(source.Load(e.Name).ToArray().SequenceEqual(converted[e.Name].ToArray()), e.Name);
        Assert.Equal(DType.F16, converted["model.norm.weight"].DType);
    }
}
