using System.Text;
using Workbench.Engine;
using Workbench.Formats;
using Workbench.Tests.Support;

namespace Workbench.Tests.Formats;

/// <summary>Untrusted files: every malformed header or truncated file fails with a message naming the file and, where one is at fault, the tensor.</summary>
public class SafeTensorsCorruptTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    /// <summary>A raw file: u64 header length (or <paramref name="declaredLength"/>), the header text, then data bytes.</summary>
    private string Raw(string header, int dataBytes, long? declaredLength = null, string name = "bad.safetensors")
    {
        var path = _dir.File(name);
        var json = Encoding.UTF8.GetBytes(header);
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes(declaredLength ?? json.Length));
        f.Write(json);
        f.Write(new byte[dataBytes]);
        return path;
    }

    private static SafeTensorsException Fails(string path, string? tensor, string expected)
    {
        var ex = Assert.Throws<SafeTensorsException>(() => SafeTensorsFile.Load(path));
        Assert.Contains(Path.GetFileName(path), ex.Message);
        Assert.Equal(path, ex.File);
        Assert.Equal(tensor, ex.Tensor);
        if (tensor is not null) Assert.Contains($"'{tensor}'", ex.Message);
        Assert.Contains(expected, ex.Message);
        return ex;
    }

    [Fact]
    public void TruncatedDataNamesTheTensorThatRunsPastTheEnd()
    {
        var good = _dir.File("good.safetensors");
        SafeTensorsWriter.Write(good, new Dictionary<string, Tensor> { ["a"] = Tensor.Ones(4), ["b"] = Tensor.Ones(2, 3) });
        var bytes = File.ReadAllBytes(good);
        var cut = _dir.File("cut.safetensors");
        File.WriteAllBytes(cut, bytes[..^5]);
        // Sorted by name, "b" ([2,3], 24 bytes) follows "a" and loses its last 5 bytes.
        Fails(cut, "b", "run past the data section");
    }

    [Fact]
    public void TruncatedHeaderIsRefused()
    {
        var good = _dir.File("good.safetensors");
        SafeTensorsWriter.Write(good, new Dictionary<string, Tensor> { ["a"] = Tensor.Ones(4) });
        var cut = _dir.File("cut.safetensors");
        File.WriteAllBytes(cut, File.ReadAllBytes(good)[..20]);
        Fails(cut, null, "runs past the end of the file");
    }

    [Fact]
    public void TooShortForTheLengthPrefix()
    {
        var path = _dir.File("tiny.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Fails(path, null, "too short");
    }

    [Fact]
    public void HeaderLongerThan100MBIsRefusedBeforeReadingIt() =>
        Fails(Raw("{}", 0, declaredLength: 100_000_001), null, "outside [2, 100000000]");

    [Fact]
    public void HeaderLengthAboveLongMaxIsRefused() => Fails(Raw("{}", 0, declaredLength: -1), null, "header length 18446744073709551615");

    [Fact]
    public void MalformedJson() => Fails(Raw("{\"a\":{\"dtype\":\"F32\",", 0), null, "not valid JSON");

    [Fact]
    public void HeaderMustBeAnObject() => Fails(Raw("[1, 2]", 0), null, "not an object");

    [Theory]
    [InlineData("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "no 'dtype'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", "no 'shape'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", "no 'data_offsets'")]
    [InlineData("{\"w\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,4]}}", "unknown dtype 'F128'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "not an integer in [0,")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", "not an integer in [0,")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", "not an array of two integers")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", "end before they begin")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", "F32[2] needs 8 bytes but data_offsets [0, 4] hold 4")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", "run past the data section (4 bytes)")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,4]}}", "overflows")]
    [InlineData("{\"w\":[1,2]}", "not an object")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "appears twice")]
    public void BadEntriesNameTheTensor(string header, string expected) => Fails(Raw(header, 4), "w", expected);

    [Fact]
    public void OverlappingTensorsNameBoth()
    {
        var ex = Fails(Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "b", "overlap");
        Assert.Contains("'a'", ex.Message);
    }

    [Fact]
    public void GapsBetweenTensorsAreRefused() =>
        Fails(Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12), "b", "gap of 4 bytes after tensor 'a'");

    [Fact]
    public void TrailingBytesAfterTheLastTensorAreRefused() =>
        Fails(Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 6), "a", "2 trailing bytes");

    [Fact]
    public void MetadataValuesMustBeStrings() =>
        Fails(Raw("{\"__metadata__\":{\"epoch\":3}}", 0), null, "'epoch' is a JSON Number");

    [Fact]
    public void I64ValuesOutsideI32FailOnLoadNamingTheTensor()
    {
        var path = _dir.File("big.safetensors");
        var json = Encoding.UTF8.GetBytes("{\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}");
        using (var f = File.Create(path))
        {
            f.Write(BitConverter.GetBytes((long)json.Length));
            f.Write(json);
            f.Write(BitConverter.GetBytes(5L));
            f.Write(BitConverter.GetBytes(1L << 40));
        }
        Fails(path, "ids", "I64 element 1 is outside the I32 range");
    }

    [Fact]
    public void MissingFileIsAFileNotFoundNamingIt()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => SafeTensorsReader.Open(_dir.File("absent.safetensors")));
        Assert.Contains("absent.safetensors", ex.Message);
    }
}
