using TorchSharp;
using Workbench.Quantization;
using Workbench.Torch.Layers;
using static TorchSharp.torch;

namespace Workbench.Torch.Quantization;

/// <summary>
/// A frozen linear layer whose weight is kept as bitsandbytes keeps a 4-bit weight (NF4 or FP4, block-wise absmax,
/// optionally double-quantised): the packed code bytes (first element in the high nibble) and the block scales, on
/// the device, byte for byte those of <see cref="QuantizedTensor"/> (which makes them). Each forward dequantises the
/// weight with tensor ops and multiplies in float32:
///   W[i] = book[code_i] · absmax[i / block],   absmax_b = dynamic[q_b] · nested[b / 256] + offset (double quant)
///   y = x·Wᵀ + b
/// Registered buffers: weight (uint8 codes), absmax or nested_codes + nested_absmax, code and nested_code tables.
/// </summary>
public sealed class TorchLinear4bit : TorchLayer, ITorchLinear
{
    private readonly long outFeatures, inFeatures;
    private readonly int blockSize;
    private readonly float offset;
    private readonly bool nested;

    public QuantType Type { get; }

    public TorchLinear4bit(QuantizedTensor q, Tensor? bias, Device device) : base("Linear4bit")
    {
        if (q.Book.Bits != 4 || q.Shape.Length != 2) throw new ArgumentException($"TorchLinear4bit: a 4-bit [out, in] weight is needed, got {q.Type.Name()} [{string.Join(", ", q.Shape)}]");
        (outFeatures, inFeatures, blockSize, Type) = (q.Shape[0], q.Shape[1], q.BlockSize, q.Type);
        Tensor Bytes(byte[] b) => TorchTensors.FromBytes(b, [b.Length], ScalarType.Byte, device);
        Tensor Floats(float[] f) => tensor(f, device: device);
        register_buffer("weight", Bytes(q.Codes));
        // (high, low) nibble pairs: pairs[byte] = (book[byte >> 4], book[byte & 15])
        register_buffer("code", Floats(Enumerable.Range(0, 256).SelectMany(b => new[] { q.Book.Values[b >> 4], q.Book.Values[b & 15] }).ToArray()).reshape(256, 2));
        if (q.Nested is { } n)
        {
            (nested, offset) = (true, n.Offset);
            register_buffer("nested_codes", Bytes(n.Codes));
            register_buffer("nested_absmax", Floats(n.Absmax));
            register_buffer("nested_code", Floats(n.Book.Values));
        }
        else register_buffer("absmax", Floats(q.Absmax!));
        if (bias is not null) register_parameter("bias", new Parameter(bias, requires_grad: false));
    }

    public int InFeatures => (int)inFeatures;
    public int OutFeatures => (int)outFeatures;
    public bool HasBias => OptionalParam("bias") is not null;

    private Tensor Buffer(string name) => get_buffer(name)!;

    /// <summary>The fp32 absmax of every block, decoding double quantisation: dynamic[q]·nested + offset.</summary>
    public Tensor BlockScales()
    {
        if (!nested) return Buffer("absmax");
        using var scope = NewDisposeScope();
        var codes = Buffer("nested_codes");
        var scales = Buffer("nested_code").index_select(0, codes.to(ScalarType.Int32));
        var perBlock = Buffer("nested_absmax").repeat_interleave(NestedAbsmax.BlockSize).narrow(0, 0, codes.shape[0]);
        return (scales * perBlock + offset).MoveToOuterDisposeScope();
    }

    /// <summary>W [out, in] in float32: book[code] · absmax of its block.</summary>
    public Tensor DenseWeight() => DenseRows(0, outFeatures);

    /// <summary>
    /// Rows [start, start + count) of W in float32. Rows start on a byte and a block when a row's length is a multiple
    /// of the block size (every real model); otherwise only the whole weight is made.
    /// </summary>
    public Tensor DenseRows(long start, long count)
    {
        using var scope = NewDisposeScope();
        long first = start * inFeatures, n = count * inFeatures;
        bool aligned = first % blockSize == 0 && n % blockSize == 0 && first % 2 == 0;
        if (!aligned && (start != 0 || count != outFeatures)) throw new ArgumentException($"TorchLinear4bit: rows {start}+{count} do not start on a block of {blockSize}");
        // pairs[byte] gives the (high, low) nibbles' values; then each block of values times its absmax
        var codes = Buffer("weight").narrow(0, first / 2, (n + 1) / 2);
        var values = Buffer("code").index_select(0, codes.to(ScalarType.Int32)).reshape(-1).narrow(0, 0, n);
        var scales = BlockScales().narrow(0, first / blockSize, (n + blockSize - 1) / blockSize);
        var w = aligned
            ? values.view(-1, blockSize).mul_(scales.unsqueeze(1))
            : values * scales.repeat_interleave(blockSize).narrow(0, 0, n);
        return w.reshape(count, inFeatures).MoveToOuterDisposeScope();
    }

    /// <summary>Rows of W per block of the matmul: whole blocks of the quantisation, or the whole weight.</summary>
    private bool RowsAlign => inFeatures % blockSize == 0 && inFeatures % 2 == 0;

    /// <summary>x (..., in) → (..., out); the dequantised weight is made block by block, and again in backward, never kept (<see cref="FrozenWeightLinear"/>).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var dtype = x.dtype;                                              // x itself is gone by backward
        var y = FrozenWeightLinear.Apply((start, count) => DenseRows(start, count).to(dtype), outFeatures,
            RowsAlign ? FrozenWeightLinear.RowsPerBlock(inFeatures) : outFeatures, x);
        return (OptionalParam("bias") is { } b ? y + b.to(x.dtype) : y).MoveToOuterDisposeScope();
    }
}
