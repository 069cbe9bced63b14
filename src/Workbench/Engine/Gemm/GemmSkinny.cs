using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Workbench.Engine;

/// <summary>
/// Products with one side of C at most <see cref="MaxSide"/> wide: decoding (a few rows of x·Wᵀ) and LoRA's
/// rank-r factors (x·Aᵀ, dyᵀ·u, gᵀ·x). The packed kernel would pack a whole operand and pad the narrow side to a
/// full micro-tile, so packing, not arithmetic, would set the time; these stream each operand once instead.
/// </summary>
internal static unsafe class GemmSkinny
{
    public const int MaxSide = 16;

    /// <summary>The skinny path for this product, if one applies.</summary>
    public static bool TryRun(bool transA, int m, int n, int k, float alpha, float* a, int lda, GemmB b, float beta, float* c, int ldc)
    {
        if (Math.Min(m, n) > MaxSide) return false;
        if (b.Trans) { Dots(transA, m, n, k, alpha, a, lda, b, beta, c, ldc); return true; }
        if (transA && b.Compact is null) { OuterProducts(m, n, k, alpha, a, lda, b.Data, b.Ld, beta, c, ldc); return true; }
        return false;
    }

    /// <summary>
    /// B stored transposed ([n, k] rows, x·Wᵀ): c_ij = α·a_i·b_j + β·c_ij, a dot product of an A row and a stored B
    /// row (widened per row when compact). The wide side is split across cores; the narrow one stays in cache.
    /// </summary>
    private static void Dots(bool transA, int m, int n, int k, float alpha, float* a, int lda, GemmB b, float beta, float* c, int ldc)
    {
        // A's rows, contiguous (gathered when A is stored transposed).
        float* rows = transA ? Alloc((long)m * k) : null;
        try
        {
            if (transA)
                for (int i = 0; i < m; i++)
                    for (int p = 0; p < k; p++) rows[(long)i * k + p] = a[(long)p * lda + i];
            float* aRows = transA ? rows : a;
            int aLd = transA ? k : lda;
            bool overColumns = n >= m;
            Par.For(overColumns ? n : m, Math.Max(1, (1 << 18) / Math.Max(1, k * (overColumns ? m : n))), (s, e) =>
            {
                // B rows as fp32: stored ones in place; compact ones widened once per chunk (its columns, or all n ≤ 16)
                int first = overColumns ? s : 0, count = overColumns ? e - s : n;
                float* wide = b.Compact is null ? null : Alloc((long)count * k);
                try
                {
                    if (wide != null)
                        for (int j = 0; j < count; j++) b.Compact!.ReadFloat(b.Offset + (long)(first + j) * b.Ld, new Span<float>(wide + (long)j * k, k));
                    for (int w = s; w < e; w++)
                        for (int q = 0; q < (overColumns ? m : n); q++)
                        {
                            var (i, j) = overColumns ? (q, w) : (w, q);
                            float* bRow = wide != null ? wide + (long)(j - first) * k : b.Data + (long)j * b.Ld;
                            // c_ij = α a_i·b_j + β c_ij (C unread when β = 0)
                            float dot = TensorPrimitives.Dot(new ReadOnlySpan<float>(aRows + (long)i * aLd, k), new ReadOnlySpan<float>(bRow, k));
                            float* cij = c + (long)i * ldc + j;
                            *cij = alpha * dot + (beta == 0 ? 0 : beta * *cij);
                        }
                }
                finally { if (wide != null) NativeMemory.AlignedFree(wide); }
            });
        }
        finally { if (rows != null) NativeMemory.AlignedFree(rows); }
    }

    /// <summary>
    /// A stored transposed ([k, m] rows) and B plain ([k, n] rows), the weight-gradient shape gᵀ·x:
    /// C = α·Σ_p A[p, :]ᵀ ⊗ B[p, :] + β·C, accumulated row by row of both operands. The sums run in a buffer whose
    /// rows are the narrow side, so each update is one contiguous multiply-add along the wide side; the wide side
    /// is split across cores.
    /// </summary>
    private static void OuterProducts(int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        bool overColumns = n >= m;
        int narrow = overColumns ? m : n, wideSide = overColumns ? n : m;
        // a column of the wide side costs k·narrow multiply-adds: LoRA's dB = gᵀ·u (k = batch·seq tokens) splits
        Par.For(wideSide, (int)Math.Max(1, (1L << 16) / Math.Max(1L, (long)narrow * k)), (s, e) =>
        {
            int len = e - s;
            float* acc = Alloc((long)narrow * len);                 // [narrow, len]
            try
            {
                new Span<float>(acc, narrow * len).Clear();
                for (int p = 0; p < k; p++)
                {
                    // the p-th rows: the narrow operand's scalars scale a slice of the wide operand's row
                    float* scalars = overColumns ? a + (long)p * lda : b + (long)p * ldb;
                    var slice = new ReadOnlySpan<float>((overColumns ? b + (long)p * ldb : a + (long)p * lda) + s, len);
                    for (int q = 0; q < narrow; q++)
                    {
                        var row = new Span<float>(acc + (long)q * len, len);
                        TensorPrimitives.MultiplyAdd(slice, scalars[q], row, row);
                    }
                }
                for (int q = 0; q < narrow; q++)
                    for (int w = 0; w < len; w++)
                    {
                        // c_ij = α Σ_p a_pi b_pj + β c_ij (C unread when β = 0)
                        float* cij = overColumns ? c + (long)q * ldc + s + w : c + (long)(s + w) * ldc + q;
                        *cij = alpha * acc[(long)q * len + w] + (beta == 0 ? 0 : beta * *cij);
                    }
            }
            finally { NativeMemory.AlignedFree(acc); }
        });
    }

    private static float* Alloc(long floats) => (float*)NativeMemory.AlignedAlloc((nuint)(Math.Max(1, floats) * sizeof(float)), 64);
}
