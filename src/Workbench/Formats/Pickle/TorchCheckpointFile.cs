using System.Buffers.Binary;
using System.IO.Compression;
using Workbench.Engine;

namespace Workbench.Formats.Pickle;

/// <summary>
/// A <c>pytorch_model.bin</c> written by <c>torch.save(state_dict)</c>, read without running its pickle
/// (<see cref="RestrictedUnpickler"/>). Two layouts:
/// <list type="bullet">
/// <item>zip (PyTorch ≥ 1.6): <c>{archive}/data.pkl</c> the state dict, <c>{archive}/data/{key}</c> each storage's raw
/// little-endian bytes (stored, not compressed);</item>
/// <item>legacy: five things back to back — pickles of the magic number 0x1950a86a20f9469cfc6c, the protocol version
/// 1001 and the system info, the state dict, the list of storage keys — then per key a little-endian u64 element
/// count and the storage's bytes.</item>
/// </list>
/// Opening reads the pickle only; a tensor's bytes are read when it is loaded. Dtypes are named as in safetensors.
/// </summary>
public sealed class TorchCheckpointFile : ITensorFile
{
    private const string LegacyMagic = "119547037146038801333356";   // 0x1950a86a20f9469cfc6c
    private readonly Dictionary<string, TorchTensor> _tensors;
    private readonly Dictionary<string, SafeTensorsEntry> _entries;
    private readonly Func<TorchStorage, long, long, byte[]> _readStorage;
    private readonly IDisposable _owner;

    public string Path { get; }
    public IReadOnlyList<SafeTensorsEntry> Entries { get; }

    private TorchCheckpointFile(string path, PickleDict? stateDict, Func<TorchStorage, long, long, byte[]> readStorage, IDisposable owner)
    {
        Path = path;
        _readStorage = readStorage;
        _owner = owner;
        if (stateDict is null) throw new PickleException(path, "the pickle is not a dict of tensors (a state dict)");
        _tensors = [];
        foreach (var (key, value) in stateDict)
        {
            if (key is not string name || value is not TorchTensor t)
                throw new PickleException(path, $"state dict entry {key} is not a tensor");
            _tensors[name] = t;
        }
        _entries = _tensors.ToDictionary(t => t.Key, t => new SafeTensorsEntry(t.Key, t.Value.Storage.DType, t.Value.Shape,
            t.Value.Offset * ElementSize(t.Value.Storage.DType), (t.Value.Offset + Shape.Numel(t.Value.Shape)) * ElementSize(t.Value.Storage.DType)));
        Entries = _entries.Values.ToList();
    }

    public static TorchCheckpointFile Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        var stream = File.OpenRead(path);
        try
        {
            Span<byte> head = stackalloc byte[4];
            stream.ReadExactly(head);
            stream.Position = 0;
            return head.SequenceEqual("PK\x03\x04"u8) ? OpenZip(path, stream) : OpenLegacy(path, stream);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static TorchCheckpointFile OpenZip(string path, FileStream stream)
    {
        var zip = new ZipArchive(stream, ZipArchiveMode.Read);
        var pickles = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl") || e.FullName == "data.pkl").ToList();
        if (pickles.Count != 1) throw new PickleException(path, $"a torch zip holds one data.pkl; this one has {pickles.Count}");
        var prefix = pickles[0].FullName[..^"data.pkl".Length];
        object? state;
        using (var pkl = pickles[0].Open()) state = RestrictedUnpickler.Load(pkl, path);
        byte[] Read(TorchStorage s, long begin, long count)
        {
            var entry = zip.GetEntry($"{prefix}data/{s.Key}") ?? throw new PickleException(path, $"storage '{s.Key}' has no {prefix}data/{s.Key}");
            if (entry.Length < begin + count) throw new PickleException(path, $"storage '{s.Key}' has {entry.Length} bytes, a tensor reads to {begin + count}");
            using var data = entry.Open();
            return ReadRange(data, begin, count, path);
        }
        return new TorchCheckpointFile(path, state as PickleDict, Read, zip);
    }

    private static TorchCheckpointFile OpenLegacy(string path, FileStream stream)
    {
        var magic = RestrictedUnpickler.Load(stream, path);
        if (magic?.ToString() != LegacyMagic)
            throw new PickleException(path, "neither a torch zip file nor a legacy torch.save file (no magic number)");
        if (RestrictedUnpickler.Load(stream, path) is not long version || version != 1001)
            throw new PickleException(path, "legacy torch.save protocol version is not 1001");
        RestrictedUnpickler.Load(stream, path);                                                   // system info
        var state = RestrictedUnpickler.Load(stream, path);
        if (RestrictedUnpickler.Load(stream, path) is not List<object?> keys || !keys.All(k => k is string))
            throw new PickleException(path, "legacy torch.save file without its list of storage keys");
        // per key: u64 element count, then the bytes; storages are those the state dict refers to, by key
        var storages = CollectStorages(state);
        var offsets = new Dictionary<string, (long At, long Bytes)>();
        var header = new byte[8];
        foreach (string key in keys.Cast<string>())
        {
            stream.ReadExactly(header);
            long numel = BinaryPrimitives.ReadInt64LittleEndian(header);
            if (!storages.TryGetValue(key, out var s)) throw new PickleException(path, $"storage '{key}' is not used by any tensor");
            long bytes = numel * ElementSize(s.DType);
            if (numel < 0 || bytes > stream.Length - stream.Position)
                throw new PickleException(path, $"storage '{key}' claims {numel} elements, more than the file holds");
            offsets[key] = (stream.Position, bytes);
            stream.Position += bytes;
        }
        byte[] Read(TorchStorage s, long begin, long count)
        {
            if (!offsets.TryGetValue(s.Key, out var stored)) throw new PickleException(path, $"storage '{s.Key}' is missing from the file");
            if (stored.Bytes < begin + count) throw new PickleException(path, $"storage '{s.Key}' has {stored.Bytes} bytes, a tensor reads to {begin + count}");
            stream.Position = stored.At;
            return ReadRange(stream, begin, count, path);
        }
        return new TorchCheckpointFile(path, state as PickleDict, Read, stream);
    }

    private static Dictionary<string, TorchStorage> CollectStorages(object? state) =>
        state is PickleDict d ? d.Select(kv => kv.Value).OfType<TorchTensor>().Select(t => t.Storage).DistinctBy(s => s.Key).ToDictionary(s => s.Key) : [];

    private static byte[] ReadRange(Stream data, long begin, long count, string path)
    {
        if (count > Array.MaxLength) throw new PickleException(path, $"a tensor of {count} bytes does not fit one .NET array");
        var skip = new byte[Math.Min(begin, 1 << 20)];
        for (long left = begin; left > 0;)
        {
            int n = data.Read(skip, 0, (int)Math.Min(left, skip.Length));
            if (n == 0) throw new PickleException(path, "a storage ends before a tensor's offset");
            left -= n;
        }
        var bytes = new byte[count];
        data.ReadExactly(bytes);
        return bytes;
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>One tensor, in its file dtype (see <see cref="SafeTensorsDecode"/>); strided views are gathered contiguous.</summary>
    public unsafe Tensor Load(string name)
    {
        if (!_tensors.TryGetValue(name, out var t)) throw new PickleException(Path, $"tensor '{name}' is not in this file");
        int size = ElementSize(t.Storage.DType);
        long numel = Shape.Numel(t.Shape);
        var contiguous = Shape.Numel(t.Shape) == 0 || t.Stride.SequenceEqual(RowMajor(t.Shape));
        long last = t.Offset + t.Shape.Select((d, i) => d == 0 ? 0 : (d - 1) * t.Stride[i]).Sum();
        if (numel > 0 && (t.Offset < 0 || last >= t.Storage.Numel || t.Stride.Any(s => s < 0)))
            throw new PickleException(Path, $"tensor '{name}' reaches outside its storage of {t.Storage.Numel} elements");
        byte[] bytes;
        if (contiguous) bytes = _readStorage(t.Storage, t.Offset * size, numel * size);
        else
        {
            var all = _readStorage(t.Storage, 0, t.Storage.Numel * size);
            bytes = new byte[numel * size];
            var index = new int[t.Shape.Length];
            for (long i = 0; i < numel; i++)
            {
                long at = t.Offset;
                for (int d = 0; d < index.Length; d++) at += index[d] * t.Stride[d];
                Array.Copy(all, at * size, bytes, i * size, size);
                for (int d = index.Length - 1; d >= 0 && ++index[d] == t.Shape[d]; d--) index[d] = 0;
            }
        }
        fixed (byte* p = bytes)
            return new Tensor(SafeTensorsDecode.ToStorage(new SafeTensorsEntry(name, t.Storage.DType, t.Shape, 0, bytes.Length), p, Path), (int[])t.Shape.Clone()) { Name = name };
    }

    private static long[] RowMajor(int[] shape)
    {
        var strides = new long[shape.Length];
        long s = 1;
        for (int d = shape.Length - 1; d >= 0; d--) { strides[d] = s; s *= shape[d]; }
        return strides;
    }

    private static int ElementSize(string dtype) => SafeTensorsDType.SizeOf(dtype);

    public void Dispose() => _owner.Dispose();
}
