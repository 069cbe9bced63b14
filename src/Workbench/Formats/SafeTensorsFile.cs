using Workbench.Engine;

namespace Workbench.Formats;

/// <summary>
/// One-call access to a .safetensors file: 8-byte little-endian header length, a JSON header mapping tensor
/// names to {dtype, shape, data_offsets}, then the raw little-endian data. For lazy, per-tensor access open a
/// <see cref="SafeTensorsReader"/>; for sharded checkpoints a <see cref="SafeTensorsCheckpoint"/>.
/// </summary>
public static class SafeTensorsFile
{
    /// <summary>Every tensor of the file (dtype mapping in <see cref="SafeTensorsDecode"/>).</summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        using var reader = SafeTensorsReader.Open(path);
        return reader.LoadAll();
    }

    /// <summary>The file's <c>__metadata__</c> string map (empty when absent).</summary>
    public static Dictionary<string, string> Metadata(string path)
    {
        using var reader = SafeTensorsReader.Open(path);
        return new Dictionary<string, string>(reader.Metadata);
    }

    /// <summary>Names, dtypes and shapes from the header, without reading tensor data.</summary>
    public static IReadOnlyList<SafeTensorsEntry> Entries(string path)
    {
        using var reader = SafeTensorsReader.Open(path);
        return reader.Entries;
    }
}
