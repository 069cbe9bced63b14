using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Workbench.Engine;
using Workbench.Engine.Nn;

namespace Workbench.Quantization;

/// <summary>
/// y = x·Wᵀ + b with a frozen quantised weight W [out, in]. W is never held in fp32: the GEMM reads it as its B
/// operand (<see cref="Gemm.SgemmStorage"/>) and decodes each KC×NR panel as it packs it, so every element is
/// decoded once per product and the product runs at full size. Backward gives dx = dy·W (W read the same way) and
/// db = Σ dy when the bias is trainable; the weight gets no gradient. Shapes: x [..., in], y [..., out].
/// A <see cref="LinearLayer"/>, so adapters that wrap a linear layer (LoRA adds to its output, IA3 scales its
/// input or output) work on a quantised base unchanged. The bias, if any, is the module parameter "bias"; the
/// quantised weight is not a parameter (it is saved through <see cref="BnbState"/>).
/// </summary>
public abstract class QuantizedLinear : LinearLayer
{
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

        // y[m, n] = x[m, k] · Wᵀ
        Gemm.SgemmStorage(false, true, m, n, k, 1f, xc.Span, k, Weight, 0, k, 0f, y.Span, n);
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
                // dx[m, k] = dy[m, n] · W[n, k]
                Gemm.SgemmStorage(false, false, m, k, n, 1f, dy.Span, n, Weight, 0, k, 0f, dx.Span, k);
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
}
