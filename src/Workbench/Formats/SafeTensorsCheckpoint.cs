using System.Text.Json;
using Workbench.Engine;
using Workbench.Formats.Pickle;

namespace Workbench.Formats;

/// <summary>
/// A Hugging Face checkpoint: one <c>model.safetensors</c>, or shards listed by <c>model.safetensors.index.json</c>
/// (<c>{"metadata": {"total_size": …}, "weight_map": {tensor: shard file}}</c>). Every shard is opened (headers
/// only) and every tensor of the weight map is checked to be in its shard; data is read per tensor on demand.
/// A folder without safetensors is read from <c>pytorch_model.bin</c> or the shards its
/// <c>pytorch_model.bin.index.json</c> lists (same weight_map), through the restricted unpickler of
/// <see cref="TorchCheckpointFile"/>, as transformers falls back to them.
/// </summary>
public sealed class SafeTensorsCheckpoint : IDisposable
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";
    public const string TorchFileName = "pytorch_model.bin";
    public const string TorchIndexFileName = "pytorch_model.bin.index.json";

    private readonly List<ITensorFile> _readers;
    private readonly Dictionary<string, ITensorFile> _owner;

    /// <summary>The file opened: a .safetensors file or the index.</summary>
    public string Path { get; }
    public IReadOnlyList<string> Files => _readers.Select(r => r.Path).ToList();
    /// <summary>All tensors, shard by shard, each in data-offset order.</summary>
    public IReadOnlyList<SafeTensorsEntry> Entries { get; }
    /// <summary>Sum of the tensors' byte lengths (the index's total_size).</summary>
    public long TotalBytes => Entries.Sum(e => e.ByteLength);

    private SafeTensorsCheckpoint(string path, List<ITensorFile> readers, Dictionary<string, ITensorFile> owner, List<SafeTensorsEntry> entries)
    {
        Path = path;
        _readers = readers;
        _owner = owner;
        Entries = entries;
    }

    /// <summary>
    /// Finds the weights in a model directory, in transformers' order: the safetensors index, model.safetensors, the
    /// pytorch_model.bin index, pytorch_model.bin; null when none exists.
    /// </summary>
    public static string? FindIn(string directory) =>
        new[] { IndexFileName, SingleFileName, TorchIndexFileName, TorchFileName }
            .Select(name => System.IO.Path.Combine(directory, name)).FirstOrDefault(File.Exists);

    /// <summary>Opens a .safetensors file, an index .json, or a model directory holding either.</summary>
    public static SafeTensorsCheckpoint Open(string path)
    {
        if (Directory.Exists(path))
            path = FindIn(path) ?? throw new FileNotFoundException($"{path}: no {IndexFileName}, {SingleFileName}, {TorchIndexFileName} or {TorchFileName} in this directory", path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? OpenIndex(path) : OpenSingle(path);
    }

    /// <summary>A .bin file is torch.save's pickle format; anything else is read as safetensors.</summary>
    private static ITensorFile OpenFile(string path) =>
        path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) ? TorchCheckpointFile.Open(path) : SafeTensorsReader.Open(path);

    private static SafeTensorsCheckpoint OpenSingle(string path)
    {
        var reader = OpenFile(path);
        return new SafeTensorsCheckpoint(path, [reader], reader.Entries.ToDictionary(e => e.Name, _ => reader), reader.Entries.ToList());
    }

    private static SafeTensorsCheckpoint OpenIndex(string indexPath)
    {
        var weightMap = ReadWeightMap(indexPath);
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(indexPath))!;
        var readers = new Dictionary<string, ITensorFile>();
        try
        {
            var owner = new Dictionary<string, ITensorFile>();
            foreach (var (tensor, shard) in weightMap)
            {
                if (!readers.TryGetValue(shard, out var reader))
                {
                    var shardPath = System.IO.Path.Combine(directory, shard);
                    if (!File.Exists(shardPath))
                        throw new SafeTensorsException(indexPath, tensor, $"its shard '{shard}' does not exist in {directory}");
                    readers[shard] = reader = OpenFile(shardPath);
                }
                if (!reader.Contains(tensor))
                    throw new SafeTensorsException(indexPath, tensor, $"the weight map puts it in '{shard}', whose header does not list it");
                owner[tensor] = reader;
            }
            var ordered = readers.Values.OrderBy(r => r.Path, StringComparer.Ordinal).ToList();
            var entries = ordered.SelectMany(r => r.Entries.Where(e => owner.TryGetValue(e.Name, out var o) && o == r)).ToList();
            return new SafeTensorsCheckpoint(indexPath, ordered, owner, entries);
        }
        catch
        {
            foreach (var r in readers.Values) r.Dispose();
            throw;
        }
    }

    /// <summary>The index's weight_map; shard names must be plain file names in the index's directory.</summary>
    public static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(indexPath)); }
        catch (JsonException e) { throw new SafeTensorsException(indexPath, null, $"not valid JSON ({e.Message})"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new SafeTensorsException(indexPath, null, "has no \"weight_map\" object");
            var result = new Dictionary<string, string>();
            foreach (var p in map.EnumerateObject())
            {
                var shard = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : "";
                if (shard.Length == 0 || shard != System.IO.Path.GetFileName(shard) || shard is "." or "..")
                    throw new SafeTensorsException(indexPath, p.Name, $"weight_map value {p.Value.GetRawText()} is not a plain shard file name");
                result[p.Name] = shard;
            }
            return result;
        }
    }

    public bool Contains(string name) => _owner.ContainsKey(name);

    public Tensor Load(string name) => _owner.TryGetValue(name, out var reader)
        ? reader.Load(name)
        : throw new SafeTensorsException(Path, name, "not in this checkpoint");

    /// <summary>Whether <paramref name="name"/> lies in a memory-mapped safetensors shard (<see cref="Bytes"/> reads it without a copy).</summary>
    public bool IsMapped(string name) => _owner.TryGetValue(name, out var reader) && reader is SafeTensorsReader;

    /// <summary>One tensor's raw bytes in its safetensors shard's mapping (<see cref="SafeTensorsReader.Bytes"/>); see <see cref="IsMapped"/>.</summary>
    public ReadOnlySpan<byte> Bytes(string name) => _owner.TryGetValue(name, out var reader)
        ? (reader as SafeTensorsReader ?? throw new SafeTensorsException(Path, name, "lies in a pytorch_model.bin shard, which is read with Load")).Bytes(name)
        : throw new SafeTensorsException(Path, name, "not in this checkpoint");

    public Dictionary<string, Tensor> LoadAll() => Entries.ToDictionary(e => e.Name, e => Load(e.Name));

    public void Dispose()
    {
        foreach (var r in _readers) r.Dispose();
    }
}
