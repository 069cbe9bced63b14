using Workbench.Engine;

namespace Workbench.Formats;

/// <summary>
/// The dtype names of the safetensors format, their element sizes, and the order the Rust writer sorts them
/// by (ascending alignment: BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64).
/// </summary>
public static class SafeTensorsDType
{
    private static readonly string[] ByAlignment =
        ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"];

    public static bool IsKnown(string dtype) => Array.IndexOf(ByAlignment, dtype) >= 0;

    public static int SizeOf(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => throw new FormatException($"unknown safetensors dtype '{dtype}'"),
    };

    /// <summary>Position in the Rust <c>Dtype</c> enum; the writer puts higher ranks first.</summary>
    public static int Rank(string dtype) => Array.IndexOf(ByAlignment, dtype) is var i and >= 0
        ? i : throw new FormatException($"unknown safetensors dtype '{dtype}'");

    public static string NameOf(DType dtype) => dtype switch
    {
        DType.F32 => "F32", DType.F16 => "F16", DType.BF16 => "BF16",
        DType.I8 => "I8", DType.U8 => "U8", DType.I32 => "I32",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>The PyTorch name (as in config.json's <c>torch_dtype</c>) of a safetensors dtype.</summary>
    public static string TorchName(string dtype) => dtype switch
    {
        "F64" => "float64", "F32" => "float32", "F16" => "float16", "BF16" => "bfloat16",
        "I64" => "int64", "I32" => "int32", "I16" => "int16", "I8" => "int8",
        "U64" => "uint64", "U32" => "uint32", "U16" => "uint16", "U8" => "uint8", "BOOL" => "bool",
        "F8_E4M3" => "float8_e4m3fn", "F8_E5M2" => "float8_e5m2",
        _ => throw new FormatException($"unknown safetensors dtype '{dtype}'"),
    };
}
