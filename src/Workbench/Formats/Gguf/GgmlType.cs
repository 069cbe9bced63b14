namespace Workbench.Formats.Gguf;

/// <summary>
/// The ggml tensor types a GGUF file of ours holds, numbered as in ggml.h (<c>enum ggml_type</c>), with their
/// block size (elements per block) and type size (bytes per block), as gguf-py's <c>GGML_QUANT_SIZES</c>.
/// </summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q8_0 = 8,
    BF16 = 30,
}

public static class GgmlTypes
{
    /// <summary>Elements per block: 1 for the float types, 32 for Q4_0 and Q8_0.</summary>
    public static int BlockSize(GgmlType type) => type switch
    {
        GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 => 1,
        GgmlType.Q4_0 or GgmlType.Q8_0 => GgmlBlocks.BlockSize,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a ggml type Workbench writes"),
    };

    /// <summary>Bytes per block: F32 4, F16/BF16 2, Q4_0 2 + 16, Q8_0 2 + 32.</summary>
    public static int TypeSize(GgmlType type) => type switch
    {
        GgmlType.F32 => 4,
        GgmlType.F16 or GgmlType.BF16 => 2,
        GgmlType.Q4_0 => GgmlBlocks.Q4_0Bytes,
        GgmlType.Q8_0 => GgmlBlocks.Q8_0Bytes,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a ggml type Workbench writes"),
    };

    /// <summary>Bytes of one row of <paramref name="rowLength"/> elements; the row must be whole blocks.</summary>
    public static long RowBytes(GgmlType type, long rowLength)
    {
        int block = BlockSize(type);
        if (rowLength % block != 0)
            throw new ArgumentException($"a row of {rowLength} elements is not a multiple of {type}'s block size {block}");
        return rowLength / block * TypeSize(type);
    }
}
