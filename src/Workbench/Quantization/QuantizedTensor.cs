using Workbench.Engine;

namespace Workbench.Quantization;

/// <summary>
/// A tensor stored block-wise in a low-bit code book — the state bitsandbytes keeps for a 4-bit weight
/// (QuantState): the code indices, one absmax per block (or their double-quantised form), the shape, the
/// code book and the block size. Elements are taken in row-major order, blocks run across rows. The GEMM reads
/// it as B directly (<see cref="IWidensToFloat"/>), decoding only the panels it packs.
/// </summary>
public sealed class QuantizedTensor : IWidensToFloat
{
    public QuantType Type { get; }
    public CodeBook Book { get; }
    public int[] Shape { get; }
    public long Numel { get; }
    public int BlockSize { get; }

    /// <summary>Code indices: 4-bit books two per byte (first element in the high nibble), 8-bit one per byte.</summary>
    public byte[] Codes { get; }

    /// <summary>One fp32 absmax per block; null when double-quantised (see <see cref="Nested"/>).</summary>
    public float[]? Absmax { get; }

    public NestedAbsmax? Nested { get; }

    /// <summary>The dtype of the weight before quantisation, as bitsandbytes records it ("float32", "bfloat16", ...).</summary>
    public string OriginalDType { get; init; } = "float32";

    public int Blocks => QuantizeKernel.BlockCount(Numel, BlockSize);

    public QuantizedTensor(QuantType type, CodeBook book, int[] shape, int blockSize, byte[] codes, float[]? absmax, NestedAbsmax? nested)
    {
        Type = type;
        Book = book;
        Shape = shape;
        Numel = Engine.Shape.Numel(shape);
        BlockSize = blockSize;
        Codes = codes;
        Absmax = absmax;
        Nested = nested;
        string what = $"QuantizedTensor {type.Name()}{Engine.Shape.Format(shape)}";
        if ((absmax is null) == (nested is null)) throw new ArgumentException($"{what}: needs either absmax or nested absmax");
        if (codes.Length != QuantizeKernel.CodeBytes(Numel, book.Bits))
            throw new ArgumentException($"{what}: {codes.Length} code bytes, expected {QuantizeKernel.CodeBytes(Numel, book.Bits)}");
        int scales = absmax?.Length ?? nested!.Codes.Length;
        if (scales != Blocks) throw new ArgumentException($"{what}: {scales} absmax for {Blocks} blocks of {blockSize}");
    }

    /// <summary>Quantises <paramref name="x"/> (any dtype, read as fp32) block-wise; with double quantisation of the absmax.</summary>
    public static QuantizedTensor Quantize(Tensor x, QuantType type, int blockSize = 64, bool doubleQuant = false)
    {
        QuantTypes.CheckBlockSize(blockSize, "QuantizedTensor.Quantize");
        var book = type.Book();
        ReadOnlySpan<float> values = x.IsContiguous && x.DType == DType.F32 ? x.Data.AsSpan((int)x.Offset, (int)x.Numel) : x.ToArray();
        var codes = new byte[QuantizeKernel.CodeBytes(x.Numel, book.Bits)];
        var absmax = new float[QuantizeKernel.BlockCount(x.Numel, blockSize)];
        QuantizeKernel.Fast(values, book, blockSize, codes, absmax);
        var shape = (int[])x.Shape.Clone();
        return doubleQuant
            ? new QuantizedTensor(type, book, shape, blockSize, codes, null, DoubleQuant.Compress(absmax))
            : new QuantizedTensor(type, book, shape, blockSize, codes, absmax, null);
    }

    /// <summary>The fp32 absmax of blocks [firstBlock, firstBlock + dst.Length), decoding double quantisation.</summary>
    public void BlockScales(int firstBlock, Span<float> dst)
    {
        if (Nested is null) Absmax.AsSpan(firstBlock, dst.Length).CopyTo(dst);
        else DoubleQuant.Expand(Nested, firstBlock, dst);
    }

    /// <summary>Elements [start, start + dst.Length) in fp32 (row-major order), e.g. a few rows of a weight.</summary>
    public void DequantizeRange(long start, Span<float> dst)
    {
        if (start < 0 || start + dst.Length > Numel)
            throw new ArgumentOutOfRangeException(nameof(start), $"DequantizeRange: [{start}, {start + dst.Length}) outside {Numel} elements");
        if (dst.IsEmpty) return;
        int firstBlock = (int)(start / BlockSize);
        int blocks = (int)((start + dst.Length - 1) / BlockSize) - firstBlock + 1;
        // the GEMM reads a few blocks at a time: their scales fit on the stack
        Span<float> scales = blocks <= 1024 ? stackalloc float[blocks] : new float[blocks];
        BlockScales(firstBlock, scales);
        DequantizeKernel.Fast(Codes, scales, Book, BlockSize, start, dst);
    }

    long IWidensToFloat.Length => Numel;
    void IWidensToFloat.ReadFloat(long start, Span<float> dst) => DequantizeRange(start, dst);

    /// <summary>The whole tensor in fp32 (no gradient).</summary>
    public Tensor Dequantize()
    {
        var result = Tensor.Zeros((int[])Shape.Clone());
        DequantizeRange(0, result.Span);
        return result;
    }

    /// <summary>
    /// Stored bits per element: codes + absmax (32 bits a block), or with double quantisation codes + 8 bits a
    /// block + 32 bits per 256 blocks + the 32-bit offset. NF4, block 64: 4.5 without, ≈ 4.127 with.
    /// </summary>
    public double BitsPerParameter
    {
        get
        {
            long bits = 8L * Codes.Length;
            bits += Nested is null ? 32L * Absmax!.Length : 8L * Nested.Codes.Length + 32L * Nested.Absmax.Length + 32;
            return (double)bits / Numel;
        }
    }
}
