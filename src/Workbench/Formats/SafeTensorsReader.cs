using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using Workbench.Engine;

namespace Workbench.Formats;

/// <summary>
/// An open, memory-mapped safetensors file. Opening reads and validates only the header
/// (<see cref="SafeTensorsHeader"/>); <see cref="Load"/> copies one tensor's bytes out of the mapping into
/// engine storage on demand. Dispose to unmap.
/// </summary>
public sealed unsafe class SafeTensorsReader : ITensorFile
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _data;
    private readonly Dictionary<string, SafeTensorsEntry> _byName;
    private bool _acquired, _disposed;

    public string Path { get; }
    public SafeTensorsHeader Header { get; }
    /// <summary>Entries in data-offset order.</summary>
    public IReadOnlyList<SafeTensorsEntry> Entries => Header.Entries;
    public IReadOnlyDictionary<string, string> Metadata => Header.Metadata;
    /// <summary>Bytes of tensor data (the file minus its header).</summary>
    public long DataLength { get; }

    private SafeTensorsReader(string path)
    {
        Path = path;
        long fileLength = new FileInfo(path).Length;
        long headerLength = SafeTensorsHeader.CheckLength(path, ReadLengthPrefix(path, fileLength), fileLength);
        DataLength = fileLength - 8 - headerLength;
        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            _view = _map.CreateViewAccessor(0, fileLength, MemoryMappedFileAccess.Read);
            byte* start = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
            _acquired = true;
            start += _view.PointerOffset;
            Header = SafeTensorsHeader.Parse(path, new ReadOnlySpan<byte>(start + 8, (int)headerLength).ToArray(), DataLength);
            _data = start + 8 + headerLength;
        }
        catch
        {
            Dispose();
            throw;
        }
        _byName = Header.Entries.ToDictionary(e => e.Name);
    }

    private static ulong ReadLengthPrefix(string path, long fileLength)
    {
        if (fileLength < 8) return 0;
        using var stream = File.OpenRead(path);
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        return BinaryPrimitives.ReadUInt64LittleEndian(prefix);
    }

    /// <summary>Maps <paramref name="path"/> and validates its header; throws <see cref="SafeTensorsException"/> naming the file and tensor.</summary>
    public static SafeTensorsReader Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such safetensors file", path);
        return new SafeTensorsReader(path);
    }

    public bool Contains(string name) => _byName.ContainsKey(name);

    public SafeTensorsEntry Entry(string name) => _byName.TryGetValue(name, out var e)
        ? e : throw new SafeTensorsException(Path, name, $"not in this file ({_byName.Count} tensors)");

    /// <summary>One tensor, copied into its own storage (see <see cref="SafeTensorsDecode"/> for the dtype mapping).</summary>
    public Tensor Load(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var entry = Entry(name);
        return new Tensor(SafeTensorsDecode.ToStorage(entry, _data + entry.Begin, Path), (int[])entry.Shape.Clone()) { Name = name };
    }

    /// <summary>
    /// One tensor's raw little-endian bytes inside the mapping, without a copy (another backend copies them straight
    /// into its own memory). Valid until the reader is disposed.
    /// </summary>
    public ReadOnlySpan<byte> Bytes(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var entry = Entry(name);
        if (entry.ByteLength > int.MaxValue)
            throw new SafeTensorsException(Path, name, $"{entry.ByteLength} bytes is more than one span can hold (2 GiB)");
        return new ReadOnlySpan<byte>(_data + entry.Begin, (int)entry.ByteLength);
    }

    /// <summary>Every tensor, in data-offset order.</summary>
    public Dictionary<string, Tensor> LoadAll() => Entries.ToDictionary(e => e.Name, e => Load(e.Name));

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_acquired) _view!.SafeMemoryMappedViewHandle.ReleasePointer();
        _view?.Dispose();
        _map.Dispose();
    }
}
