using System.Runtime.InteropServices;

namespace Workbench.Engine;

/// <summary>
/// OpenBLAS's cblas_sgemm, loaded at run time from libopenblas.so.0 when the system has it (Debian:
/// libopenblas0-pthread). Nothing native is needed to build; without the library this backend is absent.
/// </summary>
internal static unsafe class OpenBlas
{
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;

    /// <summary>Why the library did not load (empty when it did); set before <see cref="sgemm"/> is loaded.</summary>
    public static string LoadError { get; private set; } = "";

    private static readonly delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> sgemm = Load();

    public static bool IsAvailable => sgemm != null;

    private static delegate* unmanaged[Cdecl]<int, void> setThreads;

    private static delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> Load()
    {
        foreach (var name in new[] { "libopenblas.so.0", "libopenblas.so", "libopenblas" })
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) continue;
            if (NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out var set)) setThreads = (delegate* unmanaged[Cdecl]<int, void>)set;
            if (NativeLibrary.TryGetExport(handle, "cblas_sgemm", out var address))
                return (delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)address;
            LoadError = $"{name} has no cblas_sgemm";
            return null;
        }
        LoadError = "libopenblas.so.0 not found";
        return null;
    }

    /// <summary>OpenBLAS's own worker count (it does not use <see cref="Par"/>); ignored when unavailable.</summary>
    public static void SetThreads(int threads)
    {
        if (sgemm != null && setThreads != null) setThreads(threads);
    }

    /// <summary>Arguments as in <see cref="Gemm.Sgemm(bool,bool,int,int,int,float,ReadOnlySpan{float},int,ReadOnlySpan{float},int,float,Span{float},int)"/>, already validated, m, n, k &gt; 0.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        if (sgemm == null) throw new InvalidOperationException($"OpenBLAS is not available: {LoadError}");
        // BLAS insists on ld ≥ columns even for a single row, where the stride is never used.
        sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha,
            a, Math.Max(lda, transA ? m : k), b, Math.Max(ldb, transB ? k : n), beta, c, Math.Max(ldc, n));
    }

    /// <summary>
    /// Compact B: widen a block of B's stored rows at a time into one reusable buffer and multiply by it.
    /// Transposed (W[n×k], x·Wᵀ) the block is a range of C's columns; otherwise a range of the k sum, where
    /// every block after the first accumulates with β = 1.
    /// </summary>
    public static void SgemmStorage(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, IWidensToFloat b, long bOffset, int ldb, float beta, float* c, int ldc)
    {
        int rowLength = transB ? k : n, rowCount = transB ? n : k;
        int block = Math.Clamp((1 << 20) / rowLength, 1, rowCount);
        float* wide = (float*)NativeMemory.AlignedAlloc((nuint)((long)block * rowLength * sizeof(float)), 64);
        try
        {
            for (int r0 = 0; r0 < rowCount; r0 += block)
            {
                int rows = Math.Min(block, rowCount - r0);
                for (int r = 0; r < rows; r++)
                    b.ReadFloat(bOffset + (long)(r0 + r) * ldb, new Span<float>(wide + (long)r * rowLength, rowLength));
                if (transB)
                    // C[:, r0:r0+rows] = α op(A) · W[r0:r0+rows, :]ᵀ + β C[:, r0:r0+rows]
                    Sgemm(transA, true, m, rows, k, alpha, a, lda, wide, rowLength, beta, c + r0, ldc);
                else
                    // C += α op(A)[:, r0:r0+rows] · B[r0:r0+rows, :] (β only on the first block)
                    Sgemm(transA, false, m, n, rows, alpha, a + (transA ? (long)r0 * lda : r0), lda, wide, rowLength, r0 == 0 ? beta : 1f, c, ldc);
            }
        }
        finally { NativeMemory.AlignedFree(wide); }
    }
}
