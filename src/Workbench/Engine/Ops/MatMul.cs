using System.Numerics.Tensors;

namespace Workbench.Engine;

/// <summary>
/// Matrix products over <see cref="Gemm"/>: batched <see cref="MatMul"/> and the <see cref="Linear"/> layer.
/// A view whose last two dimensions are transposed is passed to the GEMM as a transpose flag, not copied;
/// a bf16/f16 right-hand matrix (a frozen weight) stays compact and is widened panel by panel.
/// Shape legend: m, k, n the matrix dimensions, "…" the (broadcast) batch dimensions.
/// </summary>
public static partial class Ops
{
    /// <summary>a [..., m, k] · b [..., k, n] → [..., m, n], batch dimensions broadcast as in NumPy (b may be 2-D).</summary>
    public static Tensor MatMul(this Tensor a, Tensor b)
    {
        const string op = "MatMul";
        if (a.Rank < 2 || b.Rank < 2 || a.Shape[^1] != b.Shape[^2])
            throw new ShapeException(op, $"cannot multiply {Engine.Shape.Format(a.Shape)} by {Engine.Shape.Format(b.Shape)}: expected [..., m, k] · [..., k, n]");
        RequireTrainableDType(op, "a", a);
        RequireTrainableDType(op, "b", b);
        a = AsGemmOperand(a, compactAllowed: false);
        b = AsGemmOperand(b, compactAllowed: true);
        int m = a.Shape[^2], k = a.Shape[^1], n = b.Shape[^1];
        var batch = BroadcastBatch(op, a, b);
        var (A, slotsA) = GemmOperand.Of(a, batch);
        var (B, slotsB) = GemmOperand.Of(b, batch);

        // C[…] = A[…] · B[…]   (C: […, m, n])
        var y = Tensor.Zeros([.. batch, m, n]);
        var Y = GemmOperand.Contiguous(y, Identity(batch), (long)m * n, n);
        BatchedGemm(m, n, k, A, B, Y);

        var shapeA = a.Shape; var shapeB = b.Shape;
        return Autograd.Record(y, op, [a, b], g =>
        {
            g = g.Contiguous();
            var G = GemmOperand.Contiguous(g, Identity(batch), (long)m * n, n);
            Tensor? da = null, db = null;
            if (a.RequiresGrad)
            {
                // dA[…] = Σ_broadcast dC[…] · B[…]ᵀ   (dA: shape of a)
                da = Tensor.Zeros(shapeA);
                BatchedGemm(m, k, n, G, B.Transposed(), GemmOperand.Contiguous(da, slotsA, (long)m * k, k));
            }
            if (b.RequiresGrad)
            {
                // dB[…] = Σ_broadcast A[…]ᵀ · dC[…]   (dB: shape of b)
                db = Tensor.Zeros(shapeB);
                BatchedGemm(k, n, m, A.Transposed(), G, GemmOperand.Contiguous(db, slotsB, (long)k * n, n));
            }
            return [da, db];
        });
    }

    /// <summary>
    /// y = x·Wᵀ + bias: x [..., in], weight [out, in], bias [out] → [..., out]. The weight may be F32, or
    /// BF16/F16 when frozen (it stays compact; the GEMM widens it panel by panel, forward and backward).
    /// </summary>
    public static Tensor Linear(this Tensor x, Tensor weight, Tensor? bias = null)
    {
        const string op = "Linear";
        if (weight.Rank != 2 || x.Rank < 1 || x.Shape[^1] != weight.Shape[1])
            throw new ShapeException(op, $"input {Engine.Shape.Format(x.Shape)} does not fit weight {Engine.Shape.Format(weight.Shape)}: expected [..., in] and [out, in]");
        int inF = weight.Shape[1], outF = weight.Shape[0];
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != outF))
            throw new ShapeException(op, $"bias {Engine.Shape.Format(bias.Shape)} does not fit weight {Engine.Shape.Format(weight.Shape)}: expected [{outF}]");
        RequireLinearDTypes(op, x, weight);
        x = x.Contiguous();
        weight = AsGemmOperand(weight, compactAllowed: true);
        bias = bias?.Contiguous();
        int rows = (int)(x.Numel / Math.Max(1, inF));
        var (wTrans, wLd) = GemmLayout(weight)!.Value;

        // y = x · Wᵀ + b   (x: [rows, in], W: [out, in], y: [rows, out])
        var y = Tensor.Uninitialized([.. x.Shape[..^1], outF]);
        Gemm.SgemmStorage(false, !wTrans, rows, outF, inF, 1f, x.Span, inF, weight.Storage, weight.Offset, wLd, 0f, y.Span, outF);
        if (bias is not null)
            for (int r = 0; r < rows; r++) TensorPrimitives.Add(y.Span.Slice(r * outF, outF), bias.Span, y.Span.Slice(r * outF, outF));

        var w = weight; var xIn = x;
        return Autograd.Record(y, op, bias is null ? [x, weight] : [x, weight, bias], g =>
        {
            var gy = g.Contiguous().Span;
            Tensor? dx = null, dw = null, db = null;
            if (xIn.RequiresGrad)
            {
                // dx = dy · W   ([rows, out] · [out, in])
                dx = Tensor.Uninitialized(xIn.Shape);
                Gemm.SgemmStorage(false, wTrans, rows, inF, outF, 1f, gy, outF, w.Storage, w.Offset, wLd, 0f, dx.Span, inF);
            }
            if (w.RequiresGrad)
            {
                // dW = dyᵀ · x   ([out, rows] · [rows, in])
                dw = Tensor.Uninitialized(outF, inF);
                Gemm.Sgemm(true, false, outF, inF, rows, 1f, gy, outF, xIn.Span, inF, 0f, dw.Span, inF);
            }
            if (bias is { RequiresGrad: true })
            {
                // db = Σ_rows dy
                db = Tensor.Zeros(outF);
                for (int r = 0; r < rows; r++) TensorPrimitives.Add(db.Span, gy.Slice(r * outF, outF), db.Span);
            }
            return bias is null ? [dx, dw] : [dx, dw, db];
        });
    }

    /// <summary>A linear weight is F32, or BF16/F16 when frozen; only F32 operands can be trained.</summary>
    private static void RequireLinearDTypes(string op, Tensor x, Tensor weight)
    {
        if (weight.DType is not (DType.F32 or DType.F16 or DType.BF16))
            throw new ShapeException(op, $"weight {Engine.Shape.Format(weight.Shape)} is stored as {weight.DType}; expected F32, BF16 or F16");
        RequireTrainableDType(op, "weight", weight);
        RequireTrainableDType(op, "input", x);
    }

    /// <summary>Gradients are F32: a compact (BF16/F16/int) tensor cannot be trained.</summary>
    private static void RequireTrainableDType(string op, string what, Tensor t)
    {
        if (t.RequiresGrad && t.DType != DType.F32)
            throw new ShapeException(op, $"{what} {Engine.Shape.Format(t.Shape)} is stored as {t.DType} and requires grad; only F32 tensors can be trained (freeze it with RequiresGrad = false or convert with To(DType.F32))");
    }

    /// <summary>
    /// How the last two dimensions sit in memory for a row-major GEMM: (false, ld) for rows of stride ld,
    /// (true, ld) for a transposed view whose columns have stride ld; null when neither (a copy is needed).
    /// </summary>
    internal static (bool Trans, int Ld)? GemmLayout(Tensor t)
    {
        int rows = t.Shape[^2], cols = t.Shape[^1], sr = t.Strides[^2], sc = t.Strides[^1];
        if ((cols == 1 || sc == 1) && (rows == 1 || sr >= cols)) return (false, rows == 1 ? Math.Max(1, cols) : sr);
        if ((rows == 1 || sr == 1) && (cols == 1 || sc >= rows)) return (true, cols == 1 ? Math.Max(1, rows) : sc);
        return null;
    }

    /// <summary>The tensor itself when the GEMM can read it in place (F32, or compact where allowed), else an F32 copy.</summary>
    private static Tensor AsGemmOperand(Tensor t, bool compactAllowed)
    {
        bool dtypeOk = t.DType == DType.F32 || (compactAllowed && t.DType is DType.F16 or DType.BF16);
        bool batchOk = t.Strides.Take(t.Rank - 2).All(s => s >= 0);
        return dtypeOk && batchOk && GemmLayout(t) is not null ? t : t.Contiguous();
    }

    private static int[] BroadcastBatch(string op, Tensor a, Tensor b)
    {
        try { return Engine.Shape.Broadcast(a.Shape[..^2], b.Shape[..^2], op); }
        catch (ShapeException)
        {
            throw new ShapeException(op, $"batch dimensions of {Engine.Shape.Format(a.Shape)} and {Engine.Shape.Format(b.Shape)} do not broadcast");
        }
    }

    private static int[] Identity(int[] batch) => Enumerable.Range(0, (int)Engine.Shape.Numel(batch)).ToArray();

    /// <summary>
    /// C[i] = op(A[i]) · op(B[i]) for every batch entry i, where entries mapping to the same C matrix add up
    /// (the sum over broadcast dimensions in backward). Folds the batch into one GEMM where the layout allows:
    /// a shared B with stacked A and C rows (x · W), or a shared C with stacked k rows (Aᵀ · dC).
    /// </summary>
    private static void BatchedGemm(int m, int n, int k, GemmOperand A, GemmOperand B, GemmOperand C)
    {
        int count = C.Offsets.Length;
        if (count > 1 && B.IsShared && !A.Trans && A.IsStacked(m) && !C.Trans && C.IsStacked(m))
        {
            Call(count * m, n, k, A.Offsets[0], B.Offsets[0], C.Offsets[0], 0f);
            return;
        }
        if (count > 1 && C.IsShared && A.Trans && A.IsStacked(k) && !B.Trans && B.IsStacked(k))
        {
            Call(m, n, count * k, A.Offsets[0], B.Offsets[0], C.Offsets[0], 0f);
            return;
        }
        var written = new HashSet<long>();
        for (int i = 0; i < count; i++)
            Call(m, n, k, A.Offsets[i], B.Offsets[i], C.Offsets[i], written.Add(C.Offsets[i]) ? 0f : 1f);

        void Call(int mm, int nn, int kk, long aAt, long bAt, long cAt, float beta) =>
            Gemm.SgemmStorage(A.Trans, B.Trans, mm, nn, kk, 1f, A.Floats((int)aAt), A.Ld, B.Storage, bAt, B.Ld, beta, C.Floats((int)cAt), C.Ld);
    }

    /// <summary>One side of a batched GEMM: a storage, its layout, and where each batch entry's matrix starts.</summary>
    private sealed record GemmOperand(Storage Storage, bool Trans, int Ld, long[] Offsets)
    {
        public Span<float> Floats(int at) => ((F32Storage)Storage).Data.AsSpan(at);
        public GemmOperand Transposed() => this with { Trans = !Trans };
        public bool IsShared => Offsets.All(o => o == Offsets[0]);

        /// <summary>Entry i starts where entry i−1's <paramref name="rows"/> stored rows end (one tall matrix).</summary>
        public bool IsStacked(int rows)
        {
            for (int i = 1; i < Offsets.Length; i++)
                if (Offsets[i] != Offsets[0] + (long)i * rows * Ld) return false;
            return true;
        }

        /// <summary>Operand for <paramref name="t"/> broadcast over <paramref name="batch"/>, and each entry's index in t's own batch.</summary>
        public static (GemmOperand, int[]) Of(Tensor t, int[] batch)
        {
            var (trans, ld) = GemmLayout(t)!.Value;
            int count = (int)Engine.Shape.Numel(batch), lead = batch.Length - (t.Rank - 2);
            var offsets = new long[count];
            var slots = new int[count];
            var index = new int[batch.Length];
            for (int i = 0; i < count; i++)
            {
                long offset = t.Offset; int slot = 0;
                for (int d = lead; d < batch.Length; d++)
                {
                    int size = t.Shape[d - lead], at = size == 1 ? 0 : index[d];
                    offset += (long)at * t.Strides[d - lead];
                    slot = slot * size + at;
                }
                offsets[i] = offset; slots[i] = slot;
                for (int d = batch.Length - 1; d >= 0 && ++index[d] == batch[d]; d--) index[d] = 0;
            }
            return (new GemmOperand(t.Storage, trans, ld, offsets), slots);
        }

        /// <summary>A contiguous F32 tensor whose matrix number slots[i] receives batch entry i.</summary>
        public static GemmOperand Contiguous(Tensor t, int[] slots, long matrixSize, int ld) =>
            new(t.Storage, false, Math.Max(1, ld), slots.Select(s => t.Offset + s * matrixSize).ToArray());
    }
}
