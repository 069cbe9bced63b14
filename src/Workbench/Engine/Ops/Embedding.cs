namespace Workbench.Engine;

public static partial class Ops
{
    /// <summary>
    /// Row lookup: weight [V, D] (F32, or BF16/F16 widened on read) and ids shaped <paramref name="idsShape"/>
    /// (default [ids.Length]) give [...idsShape, D]. Backward (recorded only for a trainable weight)
    /// scatter-adds into dW.
    /// </summary>
    public static Tensor Embedding(Tensor weight, int[] ids, params int[] idsShape)
    {
        if (weight.Rank != 2) throw new ShapeException("Embedding", $"expects weight [V, D], got {Engine.Shape.Format(weight.Shape)}");
        if (idsShape.Length == 0) idsShape = [ids.Length];
        if (Engine.Shape.Numel(idsShape) != ids.Length)
            throw new ShapeException("Embedding", $"{ids.Length} ids do not fill ids shape {Engine.Shape.Format(idsShape)}");
        int vocab = weight.Shape[0], dim = weight.Shape[1];
        for (int i = 0; i < ids.Length; i++)
            if ((uint)ids[i] >= (uint)vocab)
                throw new ShapeException("Embedding", $"id {ids[i]} at position {i} is outside the vocabulary of size {vocab} (weight {Engine.Shape.Format(weight.Shape)})");

        // Rows are read straight from storage when each row is contiguous; otherwise from an fp32 copy.
        var source = weight.Strides[1] == 1 || dim <= 1 ? weight : weight.Contiguous();
        var y = Tensor.Uninitialized([.. idsShape, dim]);          // [...idsShape, D]
        EmbeddingKernel.GatherFast(source.Storage, source.Offset, source.Strides[0], ids, y.Span, dim);
        ids = (int[])ids.Clone();                                  // the caller may reuse its buffer before backward
        return Autograd.Record(y, "Embedding", [weight], g =>
        {
            // dW[ids[n]] += dy[n]
            var dw = Tensor.Zeros(vocab, dim);                     // [V, D]
            EmbeddingKernel.ScatterAddFast(g.Contiguous().Span, ids, dw.Span, dim);
            return [dw];
        });
    }
}

/// <summary>Gather of weight rows by id, and its adjoint, the scatter-add of gradient rows.</summary>
public static class EmbeddingKernel
{
    public static void GatherReference(Storage weight, long offset, int rowStride, int[] ids, Span<float> y, int dim)
    {
        Span<float> one = stackalloc float[1];
        for (int n = 0; n < ids.Length; n++)
            for (int j = 0; j < dim; j++)
            {
                weight.ReadFloat(offset + (long)ids[n] * rowStride + j, one);
                y[n * dim + j] = one[0];
            }
    }

    /// <summary>Whole rows widened at once, positions split across cores.</summary>
    public static void GatherFast(Storage weight, long offset, int rowStride, int[] ids, Span<float> y, int dim)
    {
        unsafe
        {
            fixed (float* py = y)
            {
                nint yp = (nint)py;
                Par.For(ids.Length, Math.Max(1, 65536 / Math.Max(1, dim)), (start, end) =>
                {
                    for (int n = start; n < end; n++)
                        weight.ReadFloat(offset + (long)ids[n] * rowStride, new Span<float>((float*)yp + (long)n * dim, dim));
                });
            }
        }
    }

    public static void ScatterAddReference(ReadOnlySpan<float> dy, int[] ids, Span<float> dw, int dim)
    {
        for (int n = 0; n < ids.Length; n++)
            for (int j = 0; j < dim; j++)
                dw[ids[n] * dim + j] += dy[n * dim + j];
    }

    /// <summary>Columns split across cores (no two threads touch one element), rows added with TensorPrimitives.</summary>
    public static void ScatterAddFast(ReadOnlySpan<float> dy, int[] ids, Span<float> dw, int dim)
    {
        unsafe
        {
            fixed (float* pdy = dy, pdw = dw)
            {
                nint dyp = (nint)pdy, dwp = (nint)pdw;
                int columnBlocks = (dim + 63) / 64;
                Par.For(columnBlocks, Math.Max(1, 65536 / Math.Max(1, ids.Length * 64)), (start, end) =>
                {
                    int j0 = start * 64, width = Math.Min(dim, end * 64) - j0;
                    for (int n = 0; n < ids.Length; n++)
                    {
                        var src = new ReadOnlySpan<float>((float*)dyp + (long)n * dim + j0, width);
                        var dst = new Span<float>((float*)dwp + (long)ids[n] * dim + j0, width);
                        System.Numerics.Tensors.TensorPrimitives.Add(dst, src, dst);
                    }
                });
            }
        }
    }
}
