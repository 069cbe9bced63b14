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
}

/// <summary>
/// Blocked, packed, multi-threaded SGEMM (the GotoBLAS/BLIS loop nest). For each NC-column block of B and
/// each KC-deep slice: pack B[KC×NC] into NR-wide panels (shared, L3), then every thread packs its own
/// MC×KC blocks of A into MR-tall panels (L2) and runs the MR×NR register-blocked micro-kernel over them,
/// one NR panel of B (L1) at a time. Transposes are absorbed by the packing; edges are zero-padded panels
/// whose partial tiles go through a small buffer. β is applied by the first KC slice only.
/// </summary>
internal static unsafe class GemmManaged
{
    public const int KC = 256, MC = 144, NC = 4096;

    /// <summary>The fastest micro-kernel this machine runs natively.</summary>
    public static readonly GemmMicroKernel Default = GemmMicroKernel.Best();

    public static void Sgemm(GemmMicroKernel uk, bool transA, int m, int n, int k, float alpha,
        float* a, int lda, GemmB b, float beta, float* c, int ldc)
    {
        int mr = uk.MR, nr = uk.NR;
        int ncMax = Math.Min(NC, RoundUp(n, nr)), kcMax = Math.Min(KC, k);
        float* bPack = Alloc((long)kcMax * ncMax);
        try
        {
            for (int jc = 0; jc < n; jc += NC)
            {
                int nc = Math.Min(NC, n - jc), panelsN = CeilDiv(nc, nr), panelsM = CeilDiv(m, mr);
                for (int pc = 0; pc < k; pc += KC)
                {
                    int kc = Math.Min(KC, k - pc);
                    float betaSlice = pc == 0 ? beta : 1f;
                    // B[pc:pc+kc, jc:jc+nc] → panels of kc×NR (zero-padded columns).
                    Par.For(panelsN, Math.Max(1, (1 << 16) / (kc * nr)), (s, e) => PackB(b, pc, kc, jc, nc, nr, s, e, bPack));
                    // Split rows across threads when there are enough of them, columns otherwise (thin A).
                    int minPanels = Math.Max(1, (1 << 20) / (2 * mr * nr * kc));
                    if (panelsM >= 4 * Par.Threads)
                        Par.For(panelsM, Math.Max(1, minPanels / panelsN), (s, e) =>
                            Macro(uk, transA, a, lda, s * mr, Math.Min(m, e * mr), pc, kc, bPack, jc, nc, 0, panelsN, alpha, betaSlice, c, ldc));
                    else
                        Par.For(panelsN, Math.Max(1, minPanels / panelsM), (s, e) =>
                            Macro(uk, transA, a, lda, 0, m, pc, kc, bPack, jc, nc, s, e, alpha, betaSlice, c, ldc));
                }
            }
        }
        finally { NativeMemory.AlignedFree(bPack); }
    }

    /// <summary>Rows [i0, i1) × B panels [jr0, jr1) of one packed KC slice, in MC-row blocks of packed A.</summary>
    private static void Macro(GemmMicroKernel uk, bool transA, float* a, int lda, int i0, int i1, int pc, int kc,
        float* bPack, int jc, int nc, int jr0, int jr1, float alpha, float beta, float* c, int ldc)
    {
        int mr = uk.MR, nr = uk.NR;
        float* aPack = Alloc((long)MC * kc);
        float* tile = stackalloc float[GemmMicroKernel.MaxTile];
        try
        {
            for (int ic = i0; ic < i1; ic += MC)
            {
                int mc = Math.Min(MC, i1 - ic);
                PackA(transA, a, lda, ic, mc, pc, kc, mr, aPack);
                for (int jr = jr0; jr < jr1; jr++)
                {
                    int j = jc + jr * nr, nValid = Math.Min(nr, jc + nc - j);
                    float* bp = bPack + (long)jr * nr * kc;
                    for (int ir = 0; ir * mr < mc; ir++)
                    {
                        int i = ic + ir * mr, mValid = Math.Min(mr, ic + mc - i);
                        float* ap = aPack + (long)ir * mr * kc, cp = c + (long)i * ldc + j;
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
        }
        finally { NativeMemory.AlignedFree(aPack); }
    }

    /// <summary>op(A)[ic:ic+mc, pc:pc+kc] → MR-row panels, each kc columns of MR values (zero-padded rows).</summary>
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

    /// <summary>Panels [jr0, jr1) of op(B)[pc:pc+kc, jc:jc+nc]; compact B is widened into a per-panel buffer first.</summary>
    private static void PackB(GemmB b, int pc, int kc, int jc, int nc, int nr, int jr0, int jr1, float* bPack)
    {
        float* wide = b.Compact is null ? null : Alloc((long)kc * nr);
        try
        {
            for (int jr = jr0; jr < jr1; jr++)
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
