using System.Numerics.Tensors;

namespace Workbench.Engine;

/// <summary>The four broadcasting binary ops.</summary>
public enum BinaryOp { Add, Sub, Mul, Div }

/// <summary>
/// Element-wise arithmetic with NumPy broadcasting. Inputs may be strided views or f16/bf16 storage; they are
/// read as contiguous fp32. Backward sums each input's gradient over the dimensions it was broadcast along.
/// </summary>
public static partial class Ops
{
    public static Tensor Add(this Tensor a, Tensor b) => Binary(BinaryOp.Add, a, b);
    public static Tensor Sub(this Tensor a, Tensor b) => Binary(BinaryOp.Sub, a, b);
    public static Tensor Mul(this Tensor a, Tensor b) => Binary(BinaryOp.Mul, a, b);
    public static Tensor Div(this Tensor a, Tensor b) => Binary(BinaryOp.Div, a, b);

    private static Tensor Binary(BinaryOp op, Tensor a, Tensor b)
    {
        var shape = Engine.Shape.Broadcast(a.Shape, b.Shape, op.ToString());
        var av = ValuesOf(a);
        var bv = ValuesOf(b);
        var y = Tensor.Uninitialized(shape);
        BroadcastKernel.Fast(op, Memory(av), av.Shape, Memory(bv), bv.Shape, Memory(y), shape);
        var aShape = a.Shape;
        var bShape = b.Shape;
        // Saved for backward, only what it reads: Mul needs the other operand; Div needs b, and y for db.
        var savedA = op == BinaryOp.Mul && b.RequiresGrad ? av : null;
        var savedB = op == BinaryOp.Mul && a.RequiresGrad || op == BinaryOp.Div ? bv : null;
        var savedY = op == BinaryOp.Div && b.RequiresGrad ? y : null;
        return Autograd.Record(y, op.ToString(), [a, b], g =>
        {
            // (shape) → each input's shape by summing over broadcast dimensions.
            Tensor? da = null, db = null;
            switch (op)
            {
                case BinaryOp.Add:
                    // da = g, db = g
                    if (a.RequiresGrad) da = SumToShape(g, aShape);
                    if (b.RequiresGrad) db = SumToShape(g, bShape);
                    break;
                case BinaryOp.Sub:
                    // da = g, db = −g
                    if (a.RequiresGrad) da = SumToShape(g, aShape);
                    if (b.RequiresGrad) db = Scale(SumToShape(g, bShape), -1f);
                    break;
                case BinaryOp.Mul:
                    // da = g ⊙ b, db = g ⊙ a
                    if (a.RequiresGrad) da = SumToShape(Mul(g, savedB!), aShape);
                    if (b.RequiresGrad) db = SumToShape(Mul(g, savedA!), bShape);
                    break;
                case BinaryOp.Div:
                    // da = g / b, db = −g ⊙ y / b   (y = a / b)
                    if (a.RequiresGrad) da = SumToShape(Div(g, savedB!), aShape);
                    if (b.RequiresGrad) db = SumToShape(Scale(Div(Mul(g, savedY!), savedB!), -1f), bShape);
                    break;
            }
            return [da, db];
        });
    }

    /// <summary>y = s·x.</summary>
    public static Tensor Scale(this Tensor x, float s)
    {
        var xv = ValuesOf(x);
        var y = Tensor.Uninitialized((int[])x.Shape.Clone());
        BroadcastKernel.Fast(BinaryOp.Mul, Memory(xv), xv.Shape, new[] { s }, [], Memory(y), y.Shape);
        // dx = s·g
        return Autograd.Record(y, "Scale", [x], g => [Scale(g, s)]);
    }

    /// <summary>y = x + s.</summary>
    public static Tensor AddScalar(this Tensor x, float s)
    {
        var xv = ValuesOf(x);
        var y = Tensor.Uninitialized((int[])x.Shape.Clone());
        BroadcastKernel.Fast(BinaryOp.Add, Memory(xv), xv.Shape, new[] { s }, [], Memory(y), y.Shape);
        // dx = g
        return Autograd.Record(y, "AddScalar", [x], g => [g]);
    }

    /// <summary>The values of <paramref name="x"/> as contiguous fp32, without recording a graph node.</summary>
    internal static Tensor ValuesOf(Tensor x) => x.Detach().Contiguous();

    /// <summary>The elements of a contiguous fp32 tensor as memory (capturable by parallel workers).</summary>
    internal static Memory<float> Memory(Tensor t) => t.Data.AsMemory((int)t.Offset, (int)t.Numel);
}

/// <summary>
/// y = a ∘ b with NumPy broadcasting over row-major buffers. <see cref="Reference"/> maps every output index
/// to its input indices; <see cref="Fast"/> uses TensorPrimitives on whole rows, with fast paths for equal
/// shapes and for b (or a) being a trailing suffix of the output shape such as [B,T,C] ∘ [C].
/// </summary>
public static class BroadcastKernel
{
    private const int MinChunkElements = 1 << 15;

    public static void Reference(BinaryOp op, ReadOnlySpan<float> a, int[] aShape, ReadOnlySpan<float> b, int[] bShape, Span<float> y, int[] yShape)
    {
        var aStrides = BroadcastStrides(aShape, yShape);
        var bStrides = BroadcastStrides(bShape, yShape);
        for (int i = 0; i < y.Length; i++)
        {
            // y[i] = a[Σ_d idx_d·sa_d] ∘ b[Σ_d idx_d·sb_d], with stride 0 along broadcast dimensions
            int rest = i, ia = 0, ib = 0;
            for (int d = yShape.Length - 1; d >= 0; d--)
            {
                int k = rest % yShape[d];
                rest /= yShape[d];
                ia += k * aStrides[d];
                ib += k * bStrides[d];
            }
            y[i] = Apply(op, a[ia], b[ib]);
        }
    }

    public static void Fast(BinaryOp op, ReadOnlyMemory<float> a, int[] aShape, ReadOnlyMemory<float> b, int[] bShape, Memory<float> y, int[] yShape)
    {
        int n = y.Length;
        if (n == 0) return;
        bool aFull = a.Length == n, bFull = b.Length == n;
        if (aFull && bFull || aFull && b.Length == 1 || bFull && a.Length == 1)
        {
            // Equal shapes or a scalar operand: one flat pass.
            Par.For(n, MinChunkElements, (s, e) =>
                Row(op, aFull ? a.Span[s..e] : a.Span, bFull ? b.Span[s..e] : b.Span, y.Span[s..e]));
            return;
        }
        if (aFull && IsSuffix(bShape, yShape) || bFull && IsSuffix(aShape, yShape))
        {
            // [.., C] ∘ [C]: the short operand repeats on every row of length C.
            int c = aFull ? b.Length : a.Length;
            Par.For(n / c, Math.Max(1, MinChunkElements / c), (r0, r1) =>
            {
                for (int r = r0; r < r1; r++)
                    Row(op, aFull ? a.Span.Slice(r * c, c) : a.Span, bFull ? b.Span.Slice(r * c, c) : b.Span, y.Span.Slice(r * c, c));
            });
            return;
        }
        General(op, a, aShape, b, bShape, y, yShape);
    }

    /// <summary>Any broadcast: per output row (last dimension) find each input's row, which may be a single value.</summary>
    private static void General(BinaryOp op, ReadOnlyMemory<float> a, int[] aShape, ReadOnlyMemory<float> b, int[] bShape, Memory<float> y, int[] yShape)
    {
        int rank = yShape.Length;
        int c = rank == 0 ? 1 : yShape[^1];
        var aStrides = BroadcastStrides(aShape, yShape);
        var bStrides = BroadcastStrides(bShape, yShape);
        int aLen = rank == 0 || aStrides[^1] != 0 ? c : 1;
        int bLen = rank == 0 || bStrides[^1] != 0 ? c : 1;
        Par.For(y.Length / Math.Max(1, c), Math.Max(1, MinChunkElements / Math.Max(1, c)), (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                int rest = r, ia = 0, ib = 0;
                for (int d = rank - 2; d >= 0; d--)
                {
                    int k = rest % yShape[d];
                    rest /= yShape[d];
                    ia += k * aStrides[d];
                    ib += k * bStrides[d];
                }
                Row(op, a.Span.Slice(ia, aLen), b.Span.Slice(ib, bLen), y.Span.Slice(r * c, c));
            }
        });
    }

    /// <summary>y = a ∘ b over one row; an operand of length 1 (when y is longer) is a scalar.</summary>
    private static void Row(BinaryOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        bool aScalar = a.Length == 1 && y.Length != 1, bScalar = b.Length == 1 && y.Length != 1;
        if (aScalar && bScalar) { y.Fill(Apply(op, a[0], b[0])); return; }
        switch (op)
        {
            case BinaryOp.Add:
                if (aScalar) TensorPrimitives.Add(b, a[0], y);
                else if (bScalar) TensorPrimitives.Add(a, b[0], y);
                else TensorPrimitives.Add(a, b, y);
                break;
            case BinaryOp.Sub:
                if (aScalar) TensorPrimitives.Subtract(a[0], b, y);
                else if (bScalar) TensorPrimitives.Subtract(a, b[0], y);
                else TensorPrimitives.Subtract(a, b, y);
                break;
            case BinaryOp.Mul:
                if (aScalar) TensorPrimitives.Multiply(b, a[0], y);
                else if (bScalar) TensorPrimitives.Multiply(a, b[0], y);
                else TensorPrimitives.Multiply(a, b, y);
                break;
            case BinaryOp.Div:
                if (aScalar) TensorPrimitives.Divide(a[0], b, y);
                else if (bScalar) TensorPrimitives.Divide(a, b[0], y);
                else TensorPrimitives.Divide(a, b, y);
                break;
        }
    }

    private static float Apply(BinaryOp op, float a, float b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        _ => a / b,
    };

    /// <summary>Strides of <paramref name="shape"/> aligned to the right of <paramref name="target"/>; 0 where broadcast.</summary>
    private static int[] BroadcastStrides(int[] shape, int[] target)
    {
        var own = Shape.ContiguousStrides(shape);
        var result = new int[target.Length];
        for (int d = 0; d < shape.Length; d++)
        {
            int t = target.Length - shape.Length + d;
            result[t] = shape[d] == 1 && target[t] != 1 ? 0 : own[d];
        }
        return result;
    }

    /// <summary>True when <paramref name="shape"/>, without leading 1s, equals the trailing dimensions of <paramref name="target"/>.</summary>
    private static bool IsSuffix(int[] shape, int[] target)
    {
        int start = 0;
        while (start < shape.Length && shape[start] == 1) start++;
        int len = shape.Length - start;
        return len <= target.Length && shape.AsSpan(start).SequenceEqual(target.AsSpan(target.Length - len));
    }
}
