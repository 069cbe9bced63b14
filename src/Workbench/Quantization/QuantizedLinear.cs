using System.Buffers;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Workbench.Engine;
using Workbench.Engine.Nn;

namespace Workbench.Quantization;

/// <summary>
/// y = x·Wᵀ + b with a frozen quantised weight W [out, in]. W is never held in fp32: a tile of rows at a time is
/// dequantised into a reusable buffer (about <see cref="TileElements"/> floats) and multiplied with
/// <see cref="Gemm.Sgemm"/>. Backward gives dx = dy·W (again tile by tile) and db = Σ dy when the bias is
/// trainable; the weight gets no gradient. Shapes: x [..., in], y [..., out].
/// A <see cref="LinearLayer"/>, so adapters that wrap a linear layer (LoRA adds to its output, IA3 scales its
/// input or output) work on a quantised base unchanged. The bias, if any, is the module parameter "bias"; the
/// quantised weight is not a parameter (it is saved through <see cref="BnbState"/>).
/// </summary>
public abstract class QuantizedLinear : LinearLayer
{
    /// <summary>
    /// Upper bound on the fp32 elements of one dequantised tile of W (4 MiB): 256 rows of a 4096-wide weight, so
    /// that each GEMM is wide enough to run near full speed; narrow tiles leave the kernel mostly idle
    /// (docs/performance.md).
    /// </summary>
    public const int TileElements = 1 << 20;

    public QuantizedTensor Weight { get; }
    public Tensor? Bias => HasBias ? Parameter("bias") : null;
    public bool HasBias { get; }
    public override int InFeatures { get; }
    public override int OutFeatures { get; }

    protected QuantizedLinear(QuantizedTensor weight, Tensor? bias)
    {
        if (weight.Shape.Length != 2) throw new ShapeException(GetType().Name, $"weight must be [out, in], got {Shape.Format(weight.Shape)}");
        OutFeatures = weight.Shape[0];
        InFeatures = weight.Shape[1];
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != OutFeatures))
            throw new ShapeException(GetType().Name, $"bias {Shape.Format(bias.Shape)} does not match weight {Shape.Format(weight.Shape)}");
        Weight = weight;
        HasBias = bias is not null;
        if (bias is not null) AddParameter("bias", bias);
    }

    public override Tensor Forward(Tensor x)
    {
        string op = GetType().Name;
        if (x.Rank == 0 || x.Shape[^1] != InFeatures)
            throw new ShapeException(op, $"input {Shape.Format(x.Shape)} does not end in {InFeatures} (weight {Shape.Format(Weight.Shape)})");
        Tensor xc;
        using (GradMode.NoGrad()) xc = x.Contiguous();
        int m = (int)(x.Numel / InFeatures), n = OutFeatures, k = InFeatures;
        var outShape = (int[])x.Shape.Clone();
        outShape[^1] = n;
        var y = Tensor.Zeros(outShape);

        // y[m, n] = x[m, k] · W[r0:r0+rows, :]ᵀ for each tile of rows, written into columns r0…r0+rows of y
        ForEachTile((r0, rows, tile) => Gemm.Sgemm(false, true, m, rows, k, 1f, xc.Span, k, tile, k, 0f, y.Span[r0..], n));
        if (Bias is not null)
        {
            var b = Bias.Contiguous().Span;
            var ys = y.Span;
            // y_i += b for each row i
            for (int i = 0; i < m; i++) TensorPrimitives.Add(ys.Slice(i * n, n), b, ys.Slice(i * n, n));
        }

        var bias = Bias;
        Tensor[] inputs = bias is null ? [x] : [x, bias];
        return Autograd.Record(y, op, inputs, gradOut =>
        {
            var dy = gradOut.Contiguous();
            Tensor? dx = null, db = null;
            if (x.RequiresGrad)
            {
                dx = Tensor.Zeros((int[])x.Shape.Clone());
                // dx[m, k] = Σ_tiles dy[:, r0:r0+rows] · W[r0:r0+rows, :]
                ForEachTile((r0, rows, tile) => Gemm.Sgemm(false, false, m, k, rows, 1f, dy.Span[r0..], n, tile, k, r0 == 0 ? 0f : 1f, dx.Span, k));
            }
            if (bias is not null && bias.RequiresGrad)
            {
                var sum = new float[n];
                var g = dy.Span;
                // db_j = Σ_i dy_ij
                for (int i = 0; i < m; i++) TensorPrimitives.Add(sum, g.Slice(i * n, n), sum);
                db = Tensor.FromArray(sum, n);
            }
            return bias is null ? [dx] : [dx, db];
        });
    }

    private delegate void TileAction(int firstRow, int rows, ReadOnlySpan<float> tile);

    /// <summary>Dequantises W a tile of whole rows at a time into one pooled buffer: tile = W[r0:r0+rows, :] as [rows, in].</summary>
    private void ForEachTile(TileAction action)
    {
        int rowsPerTile = Math.Clamp(TileElements / InFeatures, 1, OutFeatures);
        var buffer = ArrayPool<float>.Shared.Rent(rowsPerTile * InFeatures);
        try
        {
            for (int r0 = 0; r0 < OutFeatures; r0 += rowsPerTile)
            {
                int rows = Math.Min(rowsPerTile, OutFeatures - r0);
                var tile = buffer.AsSpan(0, rows * InFeatures);
                Weight.DequantizeRange((long)r0 * InFeatures, tile);
                action(r0, rows, tile);
            }
        }
        finally { ArrayPool<float>.Shared.Return(buffer); }
    }
}
