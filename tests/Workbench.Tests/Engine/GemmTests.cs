using Workbench.Engine;
using Workbench.Tests.Support;

namespace Workbench.Tests.Engine;

/// <summary>Every GEMM backend and micro-kernel held to the reference triple loop.</summary>
public class GemmTests
{
    /// <summary>Sizes around the micro-tiles (4×8, 6×16, 8×32) and the KC = 256 / MC = 144 blocks.</summary>
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 1, 37, 5 }, { 37, 1, 5 }, { 3, 5, 1 }, { 6, 16, 8 }, { 8, 32, 3 }, { 7, 17, 13 },
        { 13, 33, 31 }, { 49, 65, 257 }, { 150, 40, 300 }, { 145, 97, 70 }, { 300, 9, 11 }, { 2, 300, 520 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ManagedKernelsMatchReference(int m, int n, int k)
    {
        foreach (var kernel in GemmMicroKernel.All)
            foreach (var (transA, transB, alpha, beta) in Variants())
            {
                var p = Problem.Random(m, n, k, transA, transB, seed: m * 131 + n * 17 + k);
                var expected = p.Run((a, b, c) => GemmReference.Sgemm(transA, transB, m, n, k, alpha, a, p.Lda, b, p.Ldb, beta, c, p.Ldc), beta);
                var actual = p.Run((a, b, c) => Managed(kernel, transA, transB, m, n, k, alpha, a, p.Lda, b, p.Ldb, beta, c, p.Ldc), beta);
                Close.Assert(expected, actual, 1e-4f, 1e-4f, $"{kernel.Name} m={m} n={n} k={k} tA={transA} tB={transB} α={alpha} β={beta}");
            }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void OpenBlasMatchesReferenceWhenItLoads(int m, int n, int k)
    {
        if (!Gemm.IsAvailable(GemmBackend.OpenBlas)) return;
        foreach (var (transA, transB, alpha, beta) in Variants())
        {
            var p = Problem.Random(m, n, k, transA, transB, seed: k * 7 + n);
            var expected = p.Run((a, b, c) => Gemm.Sgemm(GemmBackend.Reference, transA, transB, m, n, k, alpha, a, p.Lda, b, p.Ldb, beta, c, p.Ldc), beta);
            var actual = p.Run((a, b, c) => Gemm.Sgemm(GemmBackend.OpenBlas, transA, transB, m, n, k, alpha, a, p.Lda, b, p.Ldb, beta, c, p.Ldc), beta);
            Close.Assert(expected, actual, 1e-4f, 1e-4f, $"openblas m={m} n={n} k={k} tA={transA} tB={transB} α={alpha} β={beta}");
        }
    }

    [Fact]
    public void ColumnsBeyondOneNcBlockAndEveryThreadSplit()
    {
        // n > NC = 4096 crosses a column block and splits columns across threads; m = 400 splits rows.
        // Both are big enough (≥ 16 MFLOP) for two strips and deep enough for two KC slices; m = 3 takes
        // the threaded dot-product path for few rows.
        // B both ways: a plain B is packed row by row, a transposed one panel by panel.
        foreach (var (m, n, k) in new[] { (8, 4200, 300), (400, 70, 300), (3, 600, 400) })
            foreach (bool transB in new[] { false, true })
            {
                var p = Problem.Random(m, n, k, false, transB, seed: 3);
                var expected = p.Run((a, b, c) => GemmReference.Sgemm(false, transB, m, n, k, 1.5f, a, p.Lda, b, p.Ldb, 0.5f, c, p.Ldc), 0.5f);
                var actual = p.Run((a, b, c) => Gemm.Sgemm(GemmBackend.Managed, false, transB, m, n, k, 1.5f, a, p.Lda, b, p.Ldb, 0.5f, c, p.Ldc), 0.5f);
                Close.Assert(expected, actual, 1e-4f, 1e-4f, $"managed m={m} n={n} k={k} tB={transB}");
            }
    }

    [Fact]
    public void SkinnyProductsSplitAcrossThreads()
    {
        // LoRA's shapes with r = 8 and 16 rows of decoding: x·Aᵀ (n narrow), dyᵀ·u (n narrow, A transposed),
        // gᵀ·x (m narrow, A transposed), every transposition, big enough that the wide side is split.
        foreach (var (m, n, k) in new[] { (1536, 8, 192), (768, 8, 1536), (8, 768, 1536), (16, 600, 300), (600, 16, 300) })
            foreach (var (transA, transB, alpha, beta) in Variants())
            {
                var p = Problem.Random(m, n, k, transA, transB, seed: m + n + k);
                var expected = p.Run((a, b, c) => GemmReference.Sgemm(transA, transB, m, n, k, alpha, a, p.Lda, b, p.Ldb, beta, c, p.Ldc), beta);
                var actual = p.Run((a, b, c) => Gemm.Sgemm(GemmBackend.Managed, transA, transB, m, n, k, alpha, a, p.Lda, b, p.Ldb, beta, c, p.Ldc), beta);
                Close.Assert(expected, actual, 1e-4f, 1e-4f, $"managed m={m} n={n} k={k} tA={transA} tB={transB} α={alpha} β={beta}");
            }
    }

    [Theory]
    [InlineData(DType.BF16, false)]
    [InlineData(DType.BF16, true)]
    [InlineData(DType.F16, false)]
    [InlineData(DType.F16, true)]
    public void CompactBMatchesReferenceOnWidenedValues(DType dtype, bool transB)
    {
        // From (40, 300, 700) on big enough (≥ 16 MFLOP) for threads; the last two take the skinny paths.
        foreach (var (m, n, k) in new[] { (1, 7, 5), (7, 37, 300), (150, 33, 20), (40, 300, 700), (300, 40, 700), (900, 12, 300), (12, 900, 300) })
            foreach (var backend in Gemm.AvailableBackends)
            {
                var p = Problem.Random(m, n, k, false, transB, seed: 11);
                // Store B compactly after 3 unrelated elements, so the offset is exercised.
                var stored = Tensor.FromArray([9, 9, 9, .. p.B], p.B.Length + 3).To(dtype);
                var widened = stored.ToArray()[3..];
                var expected = p.Run((a, _, c) => GemmReference.Sgemm(false, transB, m, n, k, 0.75f, a, p.Lda, widened, p.Ldb, 0.25f, c, p.Ldc), 0.25f);
                var actual = p.Run((a, _, c) => Gemm.SgemmStorage(backend, false, transB, m, n, k, 0.75f, a, p.Lda, stored.Storage, 3, p.Ldb, 0.25f, c, p.Ldc), 0.25f);
                Close.Assert(expected, actual, 1e-4f, 1e-4f, $"{backend} {dtype} m={m} n={n} k={k} tB={transB}");
            }
    }

    [Fact]
    public void BF16WideningIsTheBitShiftForVectorAndTailElements()
    {
        // 37 = two 16-element vector steps and a 5-element tail; the oracle is the scalar definition.
        var raw = Enumerable.Range(0, 37).Select(i => (ushort)(i * 1777 + 3)).ToArray();
        var wide = new float[36];
        new BF16Storage(raw).ReadFloat(1, wide);
        for (int i = 0; i < wide.Length; i++)
            Assert.Equal(BitConverter.SingleToInt32Bits(DTypeInfo.BF16ToFloat(raw[i + 1])), BitConverter.SingleToInt32Bits(wide[i]));
    }

    [Fact]
    public void ZeroDepthScalesCByBeta()
    {
        foreach (var backend in Gemm.AvailableBackends)
        {
            float[] c = [1, 2, 3, 4];
            Gemm.Sgemm(backend, false, false, 2, 2, 0, 1f, [], 0, [], 2, 3f, c, 2);
            Assert.Equal([3f, 6f, 9f, 12f], c);
            float[] nan = [float.NaN, float.NaN];
            Gemm.Sgemm(backend, false, false, 1, 2, 0, 1f, [], 0, [], 2, 0f, nan, 2);
            Assert.Equal([0f, 0f], nan);
        }
    }

    [Fact]
    public void KnownProduct()
    {
        // [[1,2],[3,4]]·[[5,6],[7,8]] = [[19,22],[43,50]]
        foreach (var backend in Gemm.AvailableBackends)
        {
            var c = new float[4];
            Gemm.Sgemm(backend, false, false, 2, 2, 2, 1f, [1, 2, 3, 4], 2, [5, 6, 7, 8], 2, 0f, c, 2);
            Assert.Equal([19f, 22f, 43f, 50f], c);
        }
    }

    [Fact]
    public void BuffersTooSmallAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            Gemm.Sgemm(GemmBackend.Managed, false, false, 2, 2, 3, 1f, new float[5], 3, new float[6], 2, 0f, new float[4], 2));
        Assert.Contains("A is 2×3", e.Message);
        Assert.Throws<ArgumentException>(() =>
            Gemm.Sgemm(GemmBackend.Managed, false, true, 2, 2, 3, 1f, new float[6], 3, new float[6], 2, 0f, new float[4], 2));
    }

    [Fact]
    public void BackendChoiceFollowsWbGemm()
    {
        Assert.Equal(GemmBackend.Managed, Gemm.Choose("managed"));
        Assert.Equal(GemmBackend.Reference, Gemm.Choose("Reference"));
        Assert.Equal(GemmBackend.Managed, Gemm.Choose(null));   // OpenBLAS only when asked for
        Assert.Contains("expected managed, openblas or reference", Assert.Throws<InvalidOperationException>(() => Gemm.Choose("mkl")).Message);
        Assert.Contains(GemmBackend.Managed, Gemm.AvailableBackends);
    }

    private static IEnumerable<(bool, bool, float, float)> Variants()
    {
        foreach (var transA in new[] { false, true })
            foreach (var transB in new[] { false, true })
            {
                yield return (transA, transB, 1f, 0f);
                yield return (transA, transB, -0.5f, 2f);
            }
        yield return (false, false, 2f, 1f);
    }

    private static unsafe void Managed(GemmMicroKernel kernel, bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        fixed (float* pa = a, pb = b, pc = c)
            GemmManaged.Sgemm(kernel, transA, m, n, k, alpha, pa, lda, new GemmB(pb, ldb, transB), beta, pc, ldc);
    }

    /// <summary>Random A and B stored with row strides wider than their rows, and a C whose padding must survive.</summary>
    private sealed record Problem(float[] A, int Lda, float[] B, int Ldb, float[] C, int Ldc)
    {
        public static Problem Random(int m, int n, int k, bool transA, bool transB, int seed)
        {
            var rng = new Random(seed);
            int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
            return new Problem(Fill(rng, aRows * (aCols + 3)), aCols + 3, Fill(rng, bRows * (bCols + 2)), bCols + 2, Fill(rng, m * (n + 1)), n + 1);
        }

        private static float[] Fill(Random rng, int count) => Tensor.Uniform(rng, -1, 1, count).Data;

        /// <summary>Runs on copies; with β = 0 the C elements start as NaN, which must not leak into the result.</summary>
        public float[] Run(Action<float[], float[], float[]> gemm, float beta)
        {
            var c = (float[])C.Clone();
            if (beta == 0)
                for (int i = 0; i < c.Length; i++) if (i % Ldc != Ldc - 1) c[i] = float.NaN;
            gemm((float[])A.Clone(), (float[])B.Clone(), c);
            return c;
        }
    }
}
