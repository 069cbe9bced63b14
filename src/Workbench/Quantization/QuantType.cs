using Workbench.Formats;

namespace Workbench.Quantization;

/// <summary>
/// The block-wise code books Workbench can store a weight in. Nf4 and Fp4 are bitsandbytes' 4-bit types
/// (bit-compatible); Int4 and Int8 are plain symmetric absmax integers, the baselines of the QLoRA paper.
/// </summary>
public enum QuantType { Nf4, Fp4, Int4, Int8 }

public static class QuantTypes
{
    /// <summary>The lower-case name bitsandbytes and the CLI use ("nf4", "fp4", "int4", "int8").</summary>
    public static string Name(this QuantType type) => EnumSpelling.Name(type);

    public static QuantType Parse(string name) => EnumSpelling.Parse<QuantType>(name, "the quantisation type");

    /// <summary>The code book of a type: 16 (or 15) values for the 4-bit types, 255 for Int8.</summary>
    public static CodeBook Book(this QuantType type) => type switch
    {
        QuantType.Nf4 => Nf4.Book,
        QuantType.Fp4 => Fp4.Book,
        QuantType.Int4 => SymmetricInt.Int4,
        QuantType.Int8 => SymmetricInt.Int8,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Block sizes bitsandbytes accepts for 4-bit weights: powers of two from 32 to 4096.</summary>
    public static void CheckBlockSize(int blockSize, string op)
    {
        if (blockSize < 32 || blockSize > 4096 || (blockSize & (blockSize - 1)) != 0)
            throw new ArgumentException($"{op}: block size {blockSize} is not a power of two in [32, 4096]");
    }
}
