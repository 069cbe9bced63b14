using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Workbench.Engine;

/// <summary>
/// An MR×NR register-blocked micro-kernel: C[MR×NR] = α·Σ_p a_p ⊗ b_p + β·C over kc packed steps, where a_p
/// is MR values of a packed A panel and b_p NR values of a packed B panel. β = 0 never reads C.
/// </summary>
internal sealed unsafe class GemmMicroKernel
{
    public const int MaxTile = 8 * 32;

    public string Name { get; }
    public int MR { get; }
    public int NR { get; }
    private readonly delegate*<int, float*, float*, float*, int, float, float, void> kernel;

    private GemmMicroKernel(string name, int mr, int nr, delegate*<int, float*, float*, float*, int, float, float, void> run)
    {
        Name = name; MR = mr; NR = nr; kernel = run;
    }

    public void Run(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta) => kernel(kc, a, b, c, ldc, alpha, beta);

    /// <summary>8×32 over Vector512: 16 zmm accumulators, 2 B loads and 8 broadcasts per step (AVX-512).</summary>
    public static readonly GemmMicroKernel V512 = new("vector512-8x32", 8, 32, &Kernel8x32);
    /// <summary>6×16 over Vector256: 12 ymm accumulators, 2 B loads and 6 broadcasts per step (AVX2 + FMA).</summary>
    public static readonly GemmMicroKernel V256 = new("vector256-6x16", 6, 16, &Kernel6x16);
    /// <summary>4×8 with plain floats, for machines without SIMD.</summary>
    public static readonly GemmMicroKernel Scalar = new("scalar-4x8", 4, 8, &Kernel4x8);

    public static IReadOnlyList<GemmMicroKernel> All => [V512, V256, Scalar];

    public static GemmMicroKernel Best() =>
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? V512
        : Vector256.IsHardwareAccelerated && Fma.IsSupported ? V256
        : Scalar;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel8x32(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        PrefetchTile(c, ldc, 8, 32);
        for (int p = 0; p < kc; p++, a += 8, b += 32)
        {
            // c_r· += a_r · b_p (rank-1 update of the tile)
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
        }
        Store512(c, c00, c01, alpha, beta); c += ldc;
        Store512(c, c10, c11, alpha, beta); c += ldc;
        Store512(c, c20, c21, alpha, beta); c += ldc;
        Store512(c, c30, c31, alpha, beta); c += ldc;
        Store512(c, c40, c41, alpha, beta); c += ldc;
        Store512(c, c50, c51, alpha, beta); c += ldc;
        Store512(c, c60, c61, alpha, beta); c += ldc;
        Store512(c, c70, c71, alpha, beta);
    }

    /// <summary>
    /// Starts loading the C tile (rows × cols, probably not cached: rows are ldc apart) while the kc loop
    /// runs, so the update at the end does not wait on memory.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchTile(float* c, int ldc, int rows, int cols)
    {
        if (!Sse.IsSupported) return;
        for (int r = 0; r < rows; r++, c += ldc)
            for (int q = 0; q < cols; q += 16) { Sse.Prefetch0(c + q); Sse.Prefetch0(c + q + 15); }
    }

    private static void Store512(float* c, Vector512<float> v0, Vector512<float> v1, float alpha, float beta)
    {
        // c = α acc + β c
        var al = Vector512.Create(alpha);
        if (beta == 0) { (al * v0).Store(c); (al * v1).Store(c + 16); return; }
        var be = Vector512.Create(beta);
        Vector512.FusedMultiplyAdd(al, v0, be * Vector512.Load(c)).Store(c);
        Vector512.FusedMultiplyAdd(al, v1, be * Vector512.Load(c + 16)).Store(c + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        PrefetchTile(c, ldc, 6, 16);
        int p = 0;
        for (; p + 1 < kc; p += 2, a += 12, b += 32)
        {
            // c_r· += a_r · b_p (rank-1 updates of the tile, two steps per trip)
            var b0 = Vector256.Load(b + 0);
            var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Vector256.FusedMultiplyAdd(x, b0, c40); c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Vector256.FusedMultiplyAdd(x, b0, c50); c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
            var b2 = Vector256.Load(b + 16);
            var b3 = Vector256.Load(b + 24);
            var y = Vector256.Create(a[6]); c00 = Vector256.FusedMultiplyAdd(y, b2, c00); c01 = Vector256.FusedMultiplyAdd(y, b3, c01);
            y = Vector256.Create(a[7]); c10 = Vector256.FusedMultiplyAdd(y, b2, c10); c11 = Vector256.FusedMultiplyAdd(y, b3, c11);
            y = Vector256.Create(a[8]); c20 = Vector256.FusedMultiplyAdd(y, b2, c20); c21 = Vector256.FusedMultiplyAdd(y, b3, c21);
            y = Vector256.Create(a[9]); c30 = Vector256.FusedMultiplyAdd(y, b2, c30); c31 = Vector256.FusedMultiplyAdd(y, b3, c31);
            y = Vector256.Create(a[10]); c40 = Vector256.FusedMultiplyAdd(y, b2, c40); c41 = Vector256.FusedMultiplyAdd(y, b3, c41);
            y = Vector256.Create(a[11]); c50 = Vector256.FusedMultiplyAdd(y, b2, c50); c51 = Vector256.FusedMultiplyAdd(y, b3, c51);
        }
        if (p < kc)
        {
            var b0 = Vector256.Load(b + 0);
            var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Vector256.FusedMultiplyAdd(x, b0, c40); c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Vector256.FusedMultiplyAdd(x, b0, c50); c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
        }

        Store256(c, c00, c01, alpha, beta); c += ldc;
        Store256(c, c10, c11, alpha, beta); c += ldc;
        Store256(c, c20, c21, alpha, beta); c += ldc;
        Store256(c, c30, c31, alpha, beta); c += ldc;
        Store256(c, c40, c41, alpha, beta); c += ldc;
        Store256(c, c50, c51, alpha, beta);
    }

    private static void Store256(float* c, Vector256<float> v0, Vector256<float> v1, float alpha, float beta)
    {
        // c = α acc + β c
        var al = Vector256.Create(alpha);
        if (beta == 0) { (al * v0).Store(c); (al * v1).Store(c + 8); return; }
        var be = Vector256.Create(beta);
        Vector256.FusedMultiplyAdd(al, v0, be * Vector256.Load(c)).Store(c);
        Vector256.FusedMultiplyAdd(al, v1, be * Vector256.Load(c + 8)).Store(c + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel4x8(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta)
    {
        float* acc = stackalloc float[4 * 8];
        new Span<float>(acc, 4 * 8).Clear();
        for (int p = 0; p < kc; p++, a += 4, b += 8)
            for (int r = 0; r < 4; r++)
                for (int q = 0; q < 8; q++) acc[r * 8 + q] += a[r] * b[q];     // c_rq += a_r b_q
        for (int r = 0; r < 4; r++)
            for (int q = 0; q < 8; q++)
                c[(long)r * ldc + q] = alpha * acc[r * 8 + q] + (beta == 0 ? 0 : beta * c[(long)r * ldc + q]);
    }
}
