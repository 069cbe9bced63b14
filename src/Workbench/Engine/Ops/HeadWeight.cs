namespace Workbench.Engine;

public static partial class Ops
{
    /// <summary>An output head's weight [V, C] (F32, or BF16/F16 when frozen) as its GEMMs read it, for the ops that fuse it with what follows.</summary>
    internal readonly struct HeadWeight
    {
        private readonly Tensor weight;
        private readonly bool trans;
        private readonly int ld;
        public int Vocab => weight.Shape[0];
        public int Width => weight.Shape[1];

        private HeadWeight(Tensor weight) { this.weight = weight; (trans, ld) = GemmLayout(weight)!.Value; }

        /// <summary>Checks x [N, C] against weight [V, C] and makes x contiguous.</summary>
        public static HeadWeight Of(string op, ref Tensor x, Tensor weight)
        {
            if (x.Rank != 2 || weight.Rank != 2 || x.Shape[1] != weight.Shape[1] || weight.Shape[0] == 0)
                throw new ShapeException(op, $"expects x [N, C] and weight [V, C] with V > 0, got {Engine.Shape.Format(x.Shape)} and {Engine.Shape.Format(weight.Shape)}");
            RequireLinearDTypes(op, x, weight);
            x = x.Contiguous();
            return new HeadWeight(AsGemmOperand(weight, compactAllowed: true));
        }

        /// <summary>logits = x · Wᵀ   ([n, C] · [C, V])</summary>
        public void Logits(ReadOnlySpan<float> x, int n, Span<float> logits) =>
            Gemm.SgemmStorage(false, !trans, n, Vocab, Width, 1f, x, Width, weight.Storage, weight.Offset, ld, 0f, logits, Vocab);

        /// <summary>dx = G · W ([n, V] · [V, C]) when dx is given; dW += Gᵀ · x ([V, n] · [n, C]) when dw is.</summary>
        public void Backward(ReadOnlySpan<float> g, ReadOnlySpan<float> x, int n, Span<float> dx, Tensor? dw)
        {
            if (!dx.IsEmpty) Gemm.SgemmStorage(false, trans, n, Width, Vocab, 1f, g, Vocab, weight.Storage, weight.Offset, ld, 0f, dx, Width);
            if (dw is not null) Gemm.Sgemm(true, false, Vocab, Width, n, 1f, g, Vocab, x, Width, 1f, dw.Span, Width);
        }
    }
}
