using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Workbench.Engine;

/// <summary>
/// The flat buffer behind one or more tensors. fp32 is the compute type; f16/bf16/int8/uint8 are compact
/// storage that kernels widen block by block. Several views may share one storage.
/// </summary>
public abstract class Storage : IWidensToFloat
{
    public abstract DType DType { get; }
    public abstract long Length { get; }

    /// <summary>Widens elements [start, start+dst.Length) into fp32.</summary>
    public abstract void ReadFloat(long start, Span<float> dst);

    public static Storage Allocate(DType dtype, long length) => dtype switch
    {
        DType.F32 => new F32Storage(new float[length]),
        DType.F16 => new F16Storage(new Half[length]),
        DType.BF16 => new BF16Storage(new ushort[length]),
        DType.I8 => new I8Storage(new sbyte[length]),
        DType.U8 => new U8Storage(new byte[length]),
        DType.I32 => new I32Storage(new int[length]),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };
}

public sealed class F32Storage(float[] data) : Storage
{
    public readonly float[] Data = data;
    public override DType DType => DType.F32;
    public override long Length => Data.LongLength;
    public override void ReadFloat(long start, Span<float> dst) => Data.AsSpan((int)start, dst.Length).CopyTo(dst);
}

public sealed class F16Storage(Half[] data) : Storage
{
    public readonly Half[] Data = data;
    public override DType DType => DType.F16;
    public override long Length => Data.LongLength;
    public override void ReadFloat(long start, Span<float> dst) =>
        System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(Data.AsSpan((int)start, dst.Length), dst);
}

public sealed class BF16Storage(ushort[] data) : Storage
{
    public readonly ushort[] Data = data;
    public override DType DType => DType.BF16;
    public override long Length => Data.LongLength;
    public override void ReadFloat(long start, Span<float> dst)
    {
        var src = Data.AsSpan((int)start, dst.Length);
        // bf16 → fp32: the 16 stored bits become the high half of the float.
        var wide = MemoryMarshal.Cast<float, uint>(dst);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 16 <= src.Length; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create<ushort>(src.Slice(i, 16)));
                (lo << 16).CopyTo(wide.Slice(i, 8));
                (hi << 16).CopyTo(wide.Slice(i + 8, 8));
            }
        for (; i < src.Length; i++) wide[i] = (uint)src[i] << 16;
    }
}

public sealed class I8Storage(sbyte[] data) : Storage
{
    public readonly sbyte[] Data = data;
    public override DType DType => DType.I8;
    public override long Length => Data.LongLength;
    public override void ReadFloat(long start, Span<float> dst) =>
        System.Numerics.Tensors.TensorPrimitives.ConvertTruncating<sbyte, float>(Data.AsSpan((int)start, dst.Length), dst);
}

public sealed class U8Storage(byte[] data) : Storage
{
    public readonly byte[] Data = data;
    public override DType DType => DType.U8;
    public override long Length => Data.LongLength;
    public override void ReadFloat(long start, Span<float> dst) =>
        System.Numerics.Tensors.TensorPrimitives.ConvertTruncating<byte, float>(Data.AsSpan((int)start, dst.Length), dst);
}

public sealed class I32Storage(int[] data) : Storage
{
    public readonly int[] Data = data;
    public override DType DType => DType.I32;
    public override long Length => Data.LongLength;
    public override void ReadFloat(long start, Span<float> dst) =>
        System.Numerics.Tensors.TensorPrimitives.ConvertTruncating<int, float>(Data.AsSpan((int)start, dst.Length), dst);
}
