namespace Workbench.Engine;

/// <summary>Which SGEMM implementation <see cref="Gemm"/> runs.</summary>
public enum GemmBackend { Reference, Managed, OpenBlas }

/// <summary>
/// Single-precision GEMM on row-major buffers: C[m×n] = α·op(A)·op(B) + β·C, where op(X) is X or Xᵀ.
/// A is m×k (k×m when transposed) with row stride lda; B is k×n (n×k when transposed) with row stride ldb.
/// This is the one entry point every op uses; the backend behind it is the managed kernel unless the environment
/// variable WB_GEMM=managed|openblas|reference asks for another. OpenBLAS is opt-in: Debian's build runs its
/// generic kernels on CPUs it does not recognise, several times slower than the managed kernel, and where it is
/// faster the margin is small (figures in docs/performance.md). β = 0 never reads C (it may hold NaN).
/// </summary>
public static unsafe class Gemm
{
    private static GemmBackend? backend;

    /// <summary>The backend used by the overloads without an explicit one.</summary>
    public static GemmBackend Backend
    {
        get => backend ??= Choose(Environment.GetEnvironmentVariable("WB_GEMM"));
        set
        {
            if (!IsAvailable(value)) throw new InvalidOperationException($"Gemm: backend {value} is not available ({OpenBlas.LoadError})");
            backend = value;
        }
    }

    /// <summary>
    /// The backend for a call made here: inside a <see cref="Par.For"/> worker (attention runs one GEMM per head
    /// on each core) OpenBLAS would start its own threads on cores already busy, so the managed kernel runs
    /// serially instead.
    /// </summary>
    private static GemmBackend BackendHere => Par.InParallelRegion && Backend == GemmBackend.OpenBlas ? GemmBackend.Managed : Backend;

    public static IReadOnlyList<GemmBackend> AvailableBackends =>
        OpenBlas.IsAvailable ? [GemmBackend.Reference, GemmBackend.Managed, GemmBackend.OpenBlas] : [GemmBackend.Reference, GemmBackend.Managed];

    /// <summary>Worker threads for every backend: <see cref="Par.Threads"/> and OpenBLAS's own pool.</summary>
    public static void SetThreads(int threads)
    {
        Par.Threads = threads;
        OpenBlas.SetThreads(threads);
    }

    public static bool IsAvailable(GemmBackend b) => b != GemmBackend.OpenBlas || OpenBlas.IsAvailable;

    /// <summary>The backend for a WB_GEMM value: the named one, Managed when none is named.</summary>
    internal static GemmBackend Choose(string? requested)
    {
        if (string.IsNullOrEmpty(requested)) return GemmBackend.Managed;
        return requested.ToLowerInvariant() switch
        {
            "managed" => GemmBackend.Managed,
            "reference" => GemmBackend.Reference,
            "openblas" when OpenBlas.IsAvailable => GemmBackend.OpenBlas,
            "openblas" => throw new InvalidOperationException($"WB_GEMM=openblas but OpenBLAS does not load: {OpenBlas.LoadError}"),
            _ => throw new InvalidOperationException($"WB_GEMM={requested}: expected managed, openblas or reference"),
        };
    }

    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        => Sgemm(BackendHere, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    public static void Sgemm(GemmBackend backend, bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (Trivial(m, n, k, alpha, beta, c, ldc)) return;
        if (backend == GemmBackend.Reference) { GemmReference.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc); return; }
        fixed (float* pa = a, pb = b, pc = c)
        {
            if (backend == GemmBackend.OpenBlas) OpenBlas.Sgemm(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            else GemmManaged.Sgemm(GemmManaged.Default, transA, m, n, k, alpha, pa, lda, new GemmB(pb, ldb, transB), beta, pc, ldc);
        }
    }

    /// <summary>
    /// <see cref="Sgemm(bool,bool,int,int,int,float,ReadOnlySpan{float},int,ReadOnlySpan{float},int,float,Span{float},int)"/>
    /// with B read from elements that widen to fp32 (an F32/F16/BF16 storage, a quantised weight) starting at
    /// <paramref name="bOffset"/>. Compact B is widened panel by panel and never as a whole: this is x·Wᵀ for
    /// bf16/f16 and 4-bit weights.
    /// </summary>
    public static void SgemmStorage(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, IWidensToFloat b, long bOffset, int ldb, float beta, Span<float> c, int ldc)
        => SgemmStorage(BackendHere, transA, transB, m, n, k, alpha, a, lda, b, bOffset, ldb, beta, c, ldc);

    public static void SgemmStorage(GemmBackend backend, bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, IWidensToFloat b, long bOffset, int ldb, float beta, Span<float> c, int ldc)
    {
        if (b is F32Storage f)
        {
            Sgemm(backend, transA, transB, m, n, k, alpha, a, lda, f.Data.AsSpan(checked((int)bOffset)), ldb, beta, c, ldc);
            return;
        }
        if (b is Storage { DType: not (DType.F16 or DType.BF16) } other)
            throw new ArgumentException($"SgemmStorage: B must be stored as F32, F16 or BF16, not {other.DType}");
        if (bOffset < 0 || bOffset > b.Length) throw new ArgumentException($"SgemmStorage: offset {bOffset} outside a storage of {b.Length}");
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length - bOffset, ldb, c.Length, ldc);
        if (Trivial(m, n, k, alpha, beta, c, ldc)) return;
        switch (backend)
        {
            case GemmBackend.Reference:
                // The oracle widens all of B at once; the fast backends never do.
                var wide = new float[Needed(transB ? n : k, transB ? k : n, ldb)];
                b.ReadFloat(bOffset, wide);
                GemmReference.Sgemm(transA, transB, m, n, k, alpha, a, lda, wide, ldb, beta, c, ldc);
                break;
            case GemmBackend.OpenBlas:
                fixed (float* pa = a, pc = c) OpenBlas.SgemmStorage(transA, transB, m, n, k, alpha, pa, lda, b, bOffset, ldb, beta, pc, ldc);
                break;
            default:
                fixed (float* pa = a, pc = c)
                    GemmManaged.Sgemm(GemmManaged.Default, transA, m, n, k, alpha, pa, lda, new GemmB(b, bOffset, ldb, transB), beta, pc, ldc);
                break;
        }
    }

    /// <summary>Elements a row-major rows×cols matrix with row stride ld spans.</summary>
    internal static long Needed(int rows, int cols, int ld) => rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;

    private static void Validate(bool transA, bool transB, int m, int n, int k, long aLength, int lda, long bLength, int ldb, long cLength, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"Sgemm: negative size m={m} n={n} k={k}");
        Check("A", transA ? k : m, transA ? m : k, lda, aLength);
        Check("B", transB ? n : k, transB ? k : n, ldb, bLength);
        Check("C", m, n, ldc, cLength);

        static void Check(string name, int rows, int cols, int ld, long length)
        {
            if (rows > 1 && ld < cols) throw new ArgumentException($"Sgemm: {name} is {rows}×{cols} but its row stride is {ld}");
            long needed = Needed(rows, cols, ld);
            if (length < needed) throw new ArgumentException($"Sgemm: {name} is {rows}×{cols} with row stride {ld} ({needed} elements) but the buffer holds {length}");
        }
    }

    /// <summary>Handles the sizes where no product is needed: empty C, k = 0 or α = 0 (C ← β·C).</summary>
    private static bool Trivial(int m, int n, int k, float alpha, float beta, Span<float> c, int ldc)
    {
        if (m == 0 || n == 0) return true;
        if (k != 0 && alpha != 0) return false;
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (beta == 0) row.Clear();
            else System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
        return true;
    }
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
