using Workbench.Engine;

namespace Workbench.Formats;

/// <summary>The dtype names of the safetensors format and their element sizes.</summary>
public static class SafeTensorsDType
{
    public static int SizeOf(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => throw new FormatException($"unknown safetensors dtype '{dtype}'"),
    };

    public static string NameOf(DType dtype) => dtype switch
    {
        DType.F32 => "F32", DType.F16 => "F16", DType.BF16 => "BF16",
        DType.I8 => "I8", DType.U8 => "U8", DType.I32 => "I32",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };
}
