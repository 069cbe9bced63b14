using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Workbench.Engine;

/// <summary>
/// The B operand of the managed GEMM: fp32 memory, or a compact (F16/BF16) storage that is widened one
/// NR-column panel at a time while packing. Element (p, j) of op(B) is at p·ld + j, or j·ld + p when transposed.
/// </summary>
internal readonly unsafe struct GemmB
{
    public readonly float* Data;
    public readonly Storage? Compact;
    public readonly long Offset;
    public readonly int Ld;
    public readonly bool Trans;

    public GemmB(float* data, int ld, bool trans) { Data = data; Ld = ld; Trans = trans; }
    public GemmB(Storage compact, long offset, int ld, bool trans) { Compact = compact; Offset = offset; Ld = ld; Trans = trans; }

    private GemmB(float* data, Storage? compact, long offset, int ld, bool trans) { Data = data; Compact = compact; Offset = offset; Ld = ld; Trans = trans; }

    /// <summary>op(B)[:, j0:], the same matrix starting j0 columns later.</summary>
    public GemmB Columns(int j0)
    {
        long shift = Trans ? (long)j0 * Ld : j0;
        return Compact is null ? new GemmB(Data + shift, null, 0, Ld, Trans) : new GemmB(null, Compact, Offset + shift, Ld, Trans);
    }
}

/// <summary>
/// Blocked, packed, multi-threaded SGEMM (the GotoBLAS/BLIS loop nest). The threads split C into independent
/// column (or, for narrow C, row) strips and run the serial algorithm on their strip, so they never wait
/// for each other: for each NC-column block of B and each KC-deep slice, pack B[KC×NC] into NR-wide panels
/// (L3), then for each MC-row block pack A into MR-tall panels (L2) and run the MR×NR register-blocked
/// micro-kernel over them, one NR panel of B (L1) at a time. Transposes are absorbed by the packing; edges
/// are zero-padded panels whose partial tiles go through a small buffer. β is applied by the first KC slice.
/// </summary>
internal static unsafe class GemmManaged
{
    public const int KC = 256, MC = 144, NC = 4096;

    /// <summary>The fastest micro-kernel this machine runs natively.</summary>
    public static readonly GemmMicroKernel Default = GemmMicroKernel.Best();

    public static void Sgemm(GemmMicroKernel uk, bool transA, int m, int n, int k, float alpha,
        float* a, int lda, GemmB b, float beta, float* c, int ldc)
    {
        // Each strip repacks the operand it shares (A for column strips, B for row strips): split the
        // longer side of C, whose repacking costs least relative to the product.
        // A strip gets at least ~4 MFLOP, so small products stay on the calling thread.
        long flopsPerPanel = 2L * k * (n >= m ? (long)m * uk.NR : (long)n * uk.MR);
        int minPanels = (int)Math.Clamp((4L << 20) / Math.Max(1, flopsPerPanel), 1, int.MaxValue);
        if (n >= m)
            Par.For(CeilDiv(n, uk.NR), minPanels, (s, e) =>
            {
                int j0 = s * uk.NR, j1 = Math.Min(n, e * uk.NR);
                Serial(uk, transA, m, j1 - j0, k, alpha, a, lda, b.Columns(j0), beta, c + j0, ldc);
            });
        else
            Par.For(CeilDiv(m, uk.MR), minPanels, (s, e) =>
            {
                int i0 = s * uk.MR, i1 = Math.Min(m, e * uk.MR);
                Serial(uk, transA, i1 - i0, n, k, alpha, a + (transA ? i0 : (long)i0 * lda), lda, b, beta, c + (long)i0 * ldc, ldc);
            });
    }

    /// <summary>The blocked loop nest on one thread.</summary>
    private static void Serial(GemmMicroKernel uk, bool transA, int m, int n, int k, float alpha,
        float* a, int lda, GemmB b, float beta, float* c, int ldc)
    {
        int nr = uk.NR;
        float* bPack = Alloc((long)Math.Min(KC, k) * Math.Min(NC, RoundUp(n, nr)));
        float* aPack = Alloc((long)Math.Min(KC, k) * Math.Min(MC, RoundUp(m, uk.MR)));
        try
        {
            for (int jc = 0; jc < n; jc += NC)
            {
                int nc = Math.Min(NC, n - jc);
                for (int pc = 0; pc < k; pc += KC)
                {
                    int kc = Math.Min(KC, k - pc);
                    PackB(b, pc, kc, jc, nc, nr, bPack);
                    for (int ic = 0; ic < m; ic += MC)
                    {
                        int mc = Math.Min(MC, m - ic);
                        PackA(transA, a, lda, ic, mc, pc, kc, uk.MR, aPack);
                        Macro(uk, mc, nc, kc, aPack, bPack, alpha, pc == 0 ? beta : 1f, c + (long)ic * ldc + jc, ldc);
                    }
                }
            }
        }
        finally { NativeMemory.AlignedFree(bPack); NativeMemory.AlignedFree(aPack); }
    }

    /// <summary>C[mc×nc] (+)= packed A[mc×kc] · packed B[kc×nc]: every NR panel of B against every MR panel of A.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Macro(GemmMicroKernel uk, int mc, int nc, int kc, float* aPack, float* bPack, float alpha, float beta, float* c, int ldc)
    {
        int mr = uk.MR, nr = uk.NR;
        float* tile = stackalloc float[GemmMicroKernel.MaxTile];
        for (int j = 0; j < nc; j += nr)
        {
            int nValid = Math.Min(nr, nc - j);
            float* bp = bPack + (long)j * kc;
            for (int i = 0; i < mc; i += mr)
            {
                int mValid = Math.Min(mr, mc - i);
                float* ap = aPack + (long)i * kc, cp = c + (long)i * ldc + j;
                if (mValid == mr && nValid == nr) { uk.Run(kc, ap, bp, cp, ldc, alpha, beta); continue; }
                // Partial tile: compute the full MR×NR into the buffer, keep the valid corner.
                uk.Run(kc, ap, bp, tile, nr, 1f, 0f);
                for (int r = 0; r < mValid; r++)
                    for (int q = 0; q < nValid; q++)
                    {
                        // c_rq = α t_rq + β c_rq (C unread when β = 0)
                        float prior = beta == 0 ? 0 : beta * cp[(long)r * ldc + q];
                        cp[(long)r * ldc + q] = alpha * tile[r * nr + q] + prior;
                    }
            }
        }
    }

    /// <summary>op(A)[ic:ic+mc, pc:pc+kc] → MR-row panels, each kc columns of MR values (zero-padded rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(bool transA, float* a, int lda, int ic, int mc, int pc, int kc, int mr, float* dst)
    {
        for (int ir = 0; ir * mr < mc; ir++, dst += (long)mr * kc)
        {
            int i0 = ic + ir * mr, valid = Math.Min(mr, ic + mc - i0);
            if (transA)
            {
                // op(A)_ip = a[p·lda + i]: each column of the panel is contiguous in memory.
                for (int p = 0; p < kc; p++)
                {
                    float* src = a + (long)(pc + p) * lda + i0;
                    float* d = dst + (long)p * mr;
                    for (int r = 0; r < valid; r++) d[r] = src[r];
                    for (int r = valid; r < mr; r++) d[r] = 0;
                }
                continue;
            }
            for (int r = 0; r < valid; r++)
            {
                float* src = a + (long)(i0 + r) * lda + pc;
                for (int p = 0; p < kc; p++) dst[(long)p * mr + r] = src[p];
            }
            for (int r = valid; r < mr; r++)
                for (int p = 0; p < kc; p++) dst[(long)p * mr + r] = 0;
        }
    }

    /// <summary>op(B)[pc:pc+kc, jc:jc+nc] → kc×NR panels; compact B is widened into a per-panel buffer first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(GemmB b, int pc, int kc, int jc, int nc, int nr, float* bPack)
    {
        float* wide = b.Compact is null ? null : Alloc((long)kc * nr);
        try
        {
            for (int jr = 0; jr * nr < nc; jr++)
            {
                int j0 = jc + jr * nr, valid = Math.Min(nr, jc + nc - j0);
                float* dst = bPack + (long)jr * nr * kc;
                if (b.Compact is null)
                {
                    float* src = b.Data + (b.Trans ? (long)j0 * b.Ld + pc : (long)pc * b.Ld + j0);
                    PackBPanel(src, b.Ld, b.Trans, kc, valid, nr, dst);
                    continue;
                }
                // Widen just this panel: `valid` rows of kc (transposed) or kc rows of `valid`.
                int rows = b.Trans ? valid : kc, cols = b.Trans ? kc : valid;
                for (int r = 0; r < rows; r++)
                {
                    long at = b.Offset + (b.Trans ? (long)(j0 + r) * b.Ld + pc : (long)(pc + r) * b.Ld + j0);
                    b.Compact.ReadFloat(at, new Span<float>(wide + (long)r * cols, cols));
                }
                PackBPanel(wide, cols, b.Trans, kc, valid, nr, dst);
            }
        }
        finally { if (wide != null) NativeMemory.AlignedFree(wide); }
    }

    /// <summary>One kc×NR panel: row p holds op(B)[p, 0..valid) then zeros. src points at op(B)[0, 0].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackBPanel(float* src, int ld, bool trans, int kc, int valid, int nr, float* dst)
    {
        if (trans)
        {
            // op(B)_pj = src[j·ld + p]: gather one column of the panel per source row.
            for (int q = 0; q < valid; q++)
            {
                float* row = src + (long)q * ld;
                for (int p = 0; p < kc; p++) dst[(long)p * nr + q] = row[p];
            }
            for (int p = 0; p < kc; p++)
                for (int q = valid; q < nr; q++) dst[(long)p * nr + q] = 0;
            return;
        }
        for (int p = 0; p < kc; p++)
        {
            new ReadOnlySpan<float>(src + (long)p * ld, valid).CopyTo(new Span<float>(dst + (long)p * nr, valid));
            for (int q = valid; q < nr; q++) dst[(long)p * nr + q] = 0;
        }
    }

    private static float* Alloc(long floats) => (float*)NativeMemory.AlignedAlloc((nuint)(Math.Max(1, floats) * sizeof(float)), 64);
    private static int CeilDiv(int x, int y) => (x + y - 1) / y;
    private static int RoundUp(int x, int y) => CeilDiv(x, y) * y;
}
