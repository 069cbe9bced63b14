namespace Workbench.Engine;

/// <summary>
/// Single-precision GEMM on row-major buffers: C[m×n] = α·op(A)·op(B) + β·C, where op(X) is X or Xᵀ.
/// A is m×k (k×m when transposed) with row stride lda; B is k×n (n×k when transposed) with row stride ldb.
/// This is the one entry point every op uses; the backend behind it is chosen at run time.
/// </summary>
public static class Gemm
{
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        => GemmReference.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/// <summary>The plain triple loop every optimised GEMM is tested against.</summary>
public static class GemmReference
{
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                // c_ij = α Σ_p op(A)_ip op(B)_pj + β c_ij
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p * lda + i] : a[i * lda + p];
                    float bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += (double)av * bv;
                }
                float prior = beta == 0 ? 0 : beta * c[i * ldc + j];
                c[i * ldc + j] = (float)(alpha * sum) + prior;
            }
    }
}
