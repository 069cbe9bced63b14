using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Workbench.Engine;

/// <summary>
/// The B operand of the managed GEMM: fp32 memory, or compact elements (f16/bf16 storage, a quantised weight)
/// widened while packing, one KC-deep slice of the columns being packed at a time. Element (p, j) of op(B) is at p·ld + j, or j·ld + p when transposed.
/// </summary>
internal readonly unsafe struct GemmB
{
    public readonly float* Data;
    public readonly IWidensToFloat? Compact;
    public readonly long Offset;
    public readonly int Ld;
    public readonly bool Trans;

    public GemmB(float* data, int ld, bool trans) { Data = data; Ld = ld; Trans = trans; }
    public GemmB(IWidensToFloat compact, long offset, int ld, bool trans) { Compact = compact; Offset = offset; Ld = ld; Trans = trans; }

    private GemmB(float* data, IWidensToFloat? compact, long offset, int ld, bool trans) { Data = data; Compact = compact; Offset = offset; Ld = ld; Trans = trans; }

    /// <summary>op(B)[:, j0:], the same matrix starting j0 columns later.</summary>
    public GemmB Columns(int j0)
    {
        long shift = Trans ? (long)j0 * Ld : j0;
        return Compact is null ? new GemmB(Data + shift, null, 0, Ld, Trans) : new GemmB(null, Compact, Offset + shift, Ld, Trans);
    }
}

/// <summary>
/// Blocked, packed, multi-threaded SGEMM (the GotoBLAS/BLIS loop nest). For each NC-column block of B and
/// each KC-deep slice, B[KC×NC] is packed into NR-wide panels (L3), A's MC-row blocks into MR-tall panels
/// (L2), and the MR×NR register-blocked micro-kernel runs over them one NR panel of B (L1) at a time.
/// Transposes are absorbed by the packing; edges are zero-padded panels whose partial tiles go through a
/// small buffer; β is applied by the first KC slice only.
/// Threads: C is cut into strips along its longer side (columns when n ≥ m). The operand every strip needs
/// (A for column strips, B for row strips: the smaller one, since every strip streams all of it) is packed
/// once, in parallel; then the workers take strips from a shared counter, each packing its own part of the
/// other operand, so nothing is packed twice and a worker slowed by a busy machine just takes fewer strips.
/// A compact B is widened while it is packed, so it is held whole in fp32 only with row strips, i.e. when it
/// is no larger than A (a frozen bf16 weight under more tokens than its output width: 1,024 tokens through
/// 512×512 ran ~12 % slower in column strips, which stream the larger A once per strip).
/// </summary>
internal static unsafe class GemmManaged
{
    public const int KC = 256, MC = 144, NC = 4096;

    /// <summary>Strips per worker thread, for balance on a machine shared with other work.</summary>
    private const int StripsPerThread = 4;

    /// <summary>The least work (flops) worth a strip of its own.</summary>
    private const long MinStripFlops = 2L << 20;

    /// <summary>The fastest micro-kernel this machine runs natively.</summary>
    public static readonly GemmMicroKernel Default = GemmMicroKernel.Best();

    public static void Sgemm(GemmMicroKernel uk, bool transA, int m, int n, int k, float alpha,
        float* a, int lda, GemmB b, float beta, float* c, int ldc)
    {
        if (GemmSkinny.TryRun(transA, m, n, k, alpha, a, lda, b, beta, c, ldc)) return;
        // Strips share the smaller operand: every strip streams all of it from the shared cache.
        bool byColumns = n >= m;
        int panels = byColumns ? CeilDiv(n, uk.NR) : CeilDiv(m, uk.MR);
        long flops = 2L * m * n * k;
        int strips = (int)Math.Min(Math.Min(panels, (long)StripsPerThread * Par.Threads), Math.Max(1, flops / MinStripFlops));
        if (strips <= 1 || Par.Threads <= 1) { Serial(uk, transA, m, n, k, alpha, a, lda, b, beta, c, ldc, null, null); return; }

        // The operand shared by all strips, packed once: slice pc starts at pc·(padded rows or columns).
        int mPad = RoundUp(m, uk.MR), nPad = RoundUp(n, uk.NR);
        bool shareA = byColumns, shareB = !byColumns;
        float* shared = shareA || shareB ? Alloc((long)k * (shareA ? mPad : nPad)) : null;
        try
        {
            if (shareA)
                Par.For(CeilDiv(m, uk.MR), 1, (s, e) =>
                {
                    for (int pc = 0; pc < k; pc += KC)
                        PackA(transA, a, lda, s * uk.MR, Math.Min(m, e * uk.MR) - s * uk.MR, pc, Math.Min(KC, k - pc), uk.MR, shared + (long)pc * mPad + (long)s * uk.MR * Math.Min(KC, k - pc));
                });
            if (shareB)
                Par.For(CeilDiv(n, uk.NR), 1, (s, e) =>
                {
                    int j0 = s * uk.NR, cols = Math.Min(n, e * uk.NR) - j0;
                    float* wide = b.Compact is null ? null : AllocWide(b, k, uk.NR, cols);
                    try
                    {
                        for (int pc = 0; pc < k; pc += KC)
                            PackB(b, pc, Math.Min(KC, k - pc), j0, cols, uk.NR, shared + (long)pc * nPad + (long)j0 * Math.Min(KC, k - pc), wide);
                    }
                    finally { if (wide != null) NativeMemory.AlignedFree(wide); }
                });

            int next = 0;
            Par.For(Math.Min(strips, Par.Threads), 1, (_, _) =>
            {
                for (int strip; (strip = Interlocked.Increment(ref next) - 1) < strips;)
                {
                    // Strip boundaries on whole panels.
                    int s = (int)((long)panels * strip / strips), e = (int)((long)panels * (strip + 1) / strips);
                    if (byColumns)
                    {
                        int j0 = s * uk.NR, j1 = Math.Min(n, e * uk.NR);
                        Serial(uk, transA, m, j1 - j0, k, alpha, a, lda, b.Columns(j0), beta, c + j0, ldc, shared, null, mPad);
                    }
                    else
                    {
                        int i0 = s * uk.MR, i1 = Math.Min(m, e * uk.MR);
                        Serial(uk, transA, i1 - i0, n, k, alpha, a + (transA ? i0 : (long)i0 * lda), lda, b, beta, c + (long)i0 * ldc, ldc,
                            null, shareB ? shared : null, nPad);
                    }
                }
            });
        }
        finally { if (shared != null) NativeMemory.AlignedFree(shared); }
    }

    /// <summary>
    /// The blocked loop nest on one thread. <paramref name="packedA"/> / <paramref name="packedB"/>, when
    /// given, hold all of A / B already packed, slice pc at pc·<paramref name="sharedPad"/>.
    /// </summary>
    private static void Serial(GemmMicroKernel uk, bool transA, int m, int n, int k, float alpha,
        float* a, int lda, GemmB b, float beta, float* c, int ldc, float* packedA, float* packedB, int sharedPad = 0)
    {
        int nr = uk.NR, mr = uk.MR;
        float* bPack = packedB != null ? null : Alloc((long)Math.Min(KC, k) * Math.Min(NC, RoundUp(n, nr)));
        float* aPack = packedA != null ? null : Alloc((long)Math.Min(KC, k) * Math.Min(MC, RoundUp(m, mr)));
        // compact B is widened here before packing: one buffer for all of this call's slices
        float* wide = packedB != null || b.Compact is null ? null : AllocWide(b, k, nr, Math.Min(NC, n));
        try
        {
            for (int jc = 0; jc < n; jc += NC)
            {
                int nc = Math.Min(NC, n - jc);
                for (int pc = 0; pc < k; pc += KC)
                {
                    int kc = Math.Min(KC, k - pc);
                    float* bp = packedB != null ? packedB + (long)pc * sharedPad + (long)jc * kc : bPack;
                    if (packedB == null) PackB(b, pc, kc, jc, nc, nr, bPack, wide);
                    for (int ic = 0; ic < m; ic += MC)
                    {
                        int mc = Math.Min(MC, m - ic);
                        float* ap = packedA != null ? packedA + (long)pc * sharedPad + (long)ic * kc : aPack;
                        if (packedA == null) PackA(transA, a, lda, ic, mc, pc, kc, mr, aPack);
                        Macro(uk, mc, nc, kc, ap, bp, alpha, pc == 0 ? beta : 1f, c + (long)ic * ldc + jc, ldc);
                    }
                }
            }
        }
        finally
        {
            if (bPack != null) NativeMemory.AlignedFree(bPack);
            if (aPack != null) NativeMemory.AlignedFree(aPack);
            if (wide != null) NativeMemory.AlignedFree(wide);
        }
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
            int done = valid == 8 && mr == 8 ? Transpose8Rows(a + (long)i0 * lda + pc, lda, kc, dst, mr) : 0;
            for (int r = 0; r < valid; r++)
            {
                float* src = a + (long)(i0 + r) * lda + pc;
                for (int p = done; p < kc; p++) dst[(long)p * mr + r] = src[p];
            }
            for (int r = valid; r < mr; r++)
                for (int p = 0; p < kc; p++) dst[(long)p * mr + r] = 0;
        }
    }

    /// <summary>
    /// Eight rows of kc values (ld apart) written as kc columns of 8, column p at dst + p·dstStride: 8 columns at a
    /// time, eight rows of 8 loaded, the 8×8 block transposed in registers (unpack, shuffle, lane permute), eight
    /// columns stored. Packs a full 8-row A panel (the 8×32 kernel's MR) and 8 columns of a transposed B panel.
    /// Returns the columns done (the rest, fewer than 8, or all without AVX, are the caller's).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Transpose8Rows(float* src, int lda, int kc, float* dst, int dstStride)
    {
        if (!Avx.IsSupported) return 0;
        int p = 0;
        for (; p + 8 <= kc; p += 8, src += 8, dst += 8L * dstStride)
        {
            var r0 = Avx.LoadVector256(src); var r1 = Avx.LoadVector256(src + lda);
            var r2 = Avx.LoadVector256(src + 2L * lda); var r3 = Avx.LoadVector256(src + 3L * lda);
            var r4 = Avx.LoadVector256(src + 4L * lda); var r5 = Avx.LoadVector256(src + 5L * lda);
            var r6 = Avx.LoadVector256(src + 6L * lda); var r7 = Avx.LoadVector256(src + 7L * lda);
            var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
            var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
            var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
            var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
            var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
            var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
            var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
            var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
            // column q of the block = (r0[q], …, r7[q]): low lanes give columns 0–3, high lanes 4–7
            Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20)); Avx.Store(dst + dstStride, Avx.Permute2x128(u1, u5, 0x20));
            Avx.Store(dst + 2L * dstStride, Avx.Permute2x128(u2, u6, 0x20)); Avx.Store(dst + 3L * dstStride, Avx.Permute2x128(u3, u7, 0x20));
            Avx.Store(dst + 4L * dstStride, Avx.Permute2x128(u0, u4, 0x31)); Avx.Store(dst + 5L * dstStride, Avx.Permute2x128(u1, u5, 0x31));
            Avx.Store(dst + 6L * dstStride, Avx.Permute2x128(u2, u6, 0x31)); Avx.Store(dst + 7L * dstStride, Avx.Permute2x128(u3, u7, 0x31));
        }
        return p;
    }

    /// <summary>
    /// op(B)[pc:pc+kc, jc:jc+nc] → kc×NR panels. Compact B is widened into <paramref name="wide"/> first, in reads
    /// as long as its layout allows (a quantised weight decodes whole blocks per read): op(B)'s kc rows of nc when B
    /// is not transposed (kc·nc floats), its nc columns of kc one panel at a time when it is (kc·NR floats).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(GemmB b, int pc, int kc, int jc, int nc, int nr, float* bPack, float* wide)
    {
        if (!b.Trans)
        {
            float* src = b.Data + (long)pc * b.Ld + jc;
            int ld = b.Ld;
            if (b.Compact is not null)
            {
                for (int p = 0; p < kc; p++)
                    b.Compact.ReadFloat(b.Offset + (long)(pc + p) * b.Ld + jc, new Span<float>(wide + (long)p * nc, nc));
                src = wide;
                ld = nc;
            }
            // Row by row, each read front to back: panel by panel, every row would be read NR floats at a time, one
            // cache miss each, with more rows in flight than the prefetchers follow (256×4096×4096 on one core:
            // 69–75 → 77–81 GFLOP/s).
            for (int p = 0; p < kc; p++) ScatterRow(src + (long)p * ld, nc, nr, kc, bPack + (long)p * nr);
            return;
        }
        for (int jr = 0; jr * nr < nc; jr++)
        {
            int j0 = jc + jr * nr, valid = Math.Min(nr, jc + nc - j0);
            float* dst = bPack + (long)jr * nr * kc;
            if (b.Compact is null) { PackBPanel(b.Data + (long)j0 * b.Ld + pc, b.Ld, kc, valid, nr, dst); continue; }
            for (int q = 0; q < valid; q++)
                b.Compact.ReadFloat(b.Offset + (long)(j0 + q) * b.Ld + pc, new Span<float>(wide + (long)q * kc, kc));
            PackBPanel(wide, kc, kc, valid, nr, dst);
        }
    }

    /// <summary>Row p of op(B)'s slice (nc floats) into every panel: panel jr's row p is at dst + jr·NR·kc; missing columns are zeros.</summary>
    private static void ScatterRow(float* row, int nc, int nr, int kc, float* dst)
    {
        long panel = (long)nr * kc;
        int j = 0;
        for (; j + nr <= nc; j += nr, dst += panel)
            for (int q = 0; q < nr; q += 8) Vector256.Store(Vector256.Load(row + j + q), dst + q);    // NR is a multiple of 8
        if (j == nc) return;
        for (int q = 0; q < nr; q++) dst[q] = j + q < nc ? row[j + q] : 0;
    }

    /// <summary>
    /// One kc×NR panel of a transposed B: op(B)_pj = src[j·ld + p], so source rows are panel columns. Eight full ones
    /// at a time go through 8×8 transposes, what is left one column at a time; columns from valid on are zeros.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackBPanel(float* src, int ld, int kc, int valid, int nr, float* dst)
    {
        int grouped = 0, done = 0;   // every group does the same columns p < done
        for (; grouped + 8 <= valid; grouped += 8) done = Transpose8Rows(src + (long)grouped * ld, ld, kc, dst + grouped, nr);
        for (int q = 0; q < valid; q++)
        {
            float* row = src + (long)q * ld;
            for (int p = q < grouped ? done : 0; p < kc; p++) dst[(long)p * nr + q] = row[p];
        }
        for (int p = 0; p < kc; p++)
            for (int q = valid; q < nr; q++) dst[(long)p * nr + q] = 0;
    }

    /// <summary>The buffer <see cref="PackB"/> widens a compact B into for up to <paramref name="cols"/> columns: KC rows of them, or KC·NR when B is transposed.</summary>
    private static float* AllocWide(GemmB b, int k, int nr, int cols) => Alloc((long)Math.Min(KC, k) * (b.Trans ? nr : cols));

    private static float* Alloc(long floats) => (float*)NativeMemory.AlignedAlloc((nuint)(Math.Max(1, floats) * sizeof(float)), 64);
    private static int CeilDiv(int x, int y) => (x + y - 1) / y;
    private static int RoundUp(int x, int y) => CeilDiv(x, y) * y;
}
