using System.Runtime.CompilerServices;
using Workbench.Engine;

namespace Workbench.Formats;

/// <summary>
/// Raw little-endian tensor bytes → engine storage. F32/F16/BF16/I8/U8/I32 keep their own dtype; BOOL loads
/// as U8 (0/1); I16/U16 widen exactly to I32; U32/I64/U64 narrow to I32 and fail on a value outside its range;
/// F64 rounds to F32; F8_E4M3/F8_E5M2 widen exactly to F32.
/// </summary>
internal static unsafe class SafeTensorsDecode
{
    public static Storage ToStorage(SafeTensorsEntry entry, byte* src, string file)
    {
        long n = entry.Numel;
        if (n > Array.MaxLength) throw new SafeTensorsException(file, entry.Name, $"{n} elements do not fit one .NET array");
        return entry.DType switch
        {
            "F32" => new F32Storage(Copy<float>(src, n)),
            "F16" => new F16Storage(Copy<Half>(src, n)),
            "BF16" => new BF16Storage(Copy<ushort>(src, n)),
            "I8" => new I8Storage(Copy<sbyte>(src, n)),
            "U8" or "BOOL" => new U8Storage(Copy<byte>(src, n)),
            "I32" => new I32Storage(Copy<int>(src, n)),
            "I16" => new I32Storage(Widen(src, n, (short v) => (int)v)),
            "U16" => new I32Storage(Widen(src, n, (ushort v) => (int)v)),
            "U32" => new I32Storage(Narrow(src, n, (uint v) => v, entry, file)),
            "I64" => new I32Storage(Narrow(src, n, (long v) => v, entry, file)),
            "U64" => new I32Storage(Narrow(src, n, (ulong v) => v <= int.MaxValue ? (long)v : long.MaxValue, entry, file)),
            "F64" => new F32Storage(Widen(src, n, (double v) => (float)v)),
            "F8_E4M3" => new F32Storage(Widen(src, n, (byte v) => Float8E4M3(v))),
            "F8_E5M2" => new F32Storage(Widen(src, n, (byte v) => Float8E5M2(v))),
            _ => throw new SafeTensorsException(file, entry.Name, $"dtype {entry.DType} cannot be loaded"),
        };
    }

    private static T[] Copy<T>(byte* src, long n) where T : unmanaged
    {
        var result = new T[n];
        long bytes = n * sizeof(T);
        fixed (T* dst = result) Buffer.MemoryCopy(src, dst, bytes, bytes);
        return result;
    }

    private static TOut[] Widen<TIn, TOut>(byte* src, long n, Func<TIn, TOut> convert) where TIn : unmanaged
    {
        var result = new TOut[n];
        for (long i = 0; i < n; i++) result[i] = convert(Unsafe.ReadUnaligned<TIn>(src + i * sizeof(TIn)));
        return result;
    }

    private static int[] Narrow<TIn>(byte* src, long n, Func<TIn, long> widen, SafeTensorsEntry entry, string file) where TIn : unmanaged
    {
        var result = new int[n];
        for (long i = 0; i < n; i++)
        {
            long v = widen(Unsafe.ReadUnaligned<TIn>(src + i * sizeof(TIn)));
            if (v < int.MinValue || v > int.MaxValue)
                throw new SafeTensorsException(file, entry.Name, $"{entry.DType} element {i} is outside the I32 range Workbench loads it into");
            result[i] = (int)v;
        }
        return result;
    }

    /// <summary>OCP FP8 E4M3 ("fn"): sign, 4 exponent bits (bias 7), 3 mantissa bits; no infinities, S.1111.111 is NaN.</summary>
    public static float Float8E4M3(byte b)
    {
        int sign = b >> 7, exponent = (b >> 3) & 0xF, mantissa = b & 0x7;
        if (exponent == 0xF && mantissa == 0x7) return float.NaN;
        // value = (−1)^s · 2^(e−7) · (1 + m/8), or 2^−6 · m/8 when e = 0 (subnormal)
        float magnitude = exponent == 0 ? MathF.ScaleB(mantissa / 8f, -6) : MathF.ScaleB(1 + mantissa / 8f, exponent - 7);
        return sign == 1 ? -magnitude : magnitude;
    }

    /// <summary>OCP FP8 E5M2: exactly the top byte of an IEEE half (bias 15, with infinities and NaNs).</summary>
    public static float Float8E5M2(byte b) => (float)BitConverter.UInt16BitsToHalf((ushort)(b << 8));
}
