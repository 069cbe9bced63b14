using Workbench.Engine;
using Workbench.Tests.Support;

namespace Workbench.Tests.Engine;

/// <summary>Ops.MatMul and Ops.Linear against PyTorch (tests/fixtures/make_matmul.py) and finite differences.</summary>
public class MatMulTests
{
    [Theory]
    [InlineData("batched")]
    [InlineData("shared_b")]
    [InlineData("broadcast")]
    public void MatMulMatchesTorch(string name)
    {
        var f = Fixtures.Load($"matmul/{name}.safetensors");
        var (a, b) = (f["a"], f["b"]);
        a.RequiresGrad = true; b.RequiresGrad = true;
        var y = a.MatMul(b);
        Close.Assert(f["y"], y, 1e-5f, 1e-5f, $"{name}: y");
        y.Backward(f["dy"]);
        Close.Assert(f["da"], a.Grad!, 1e-5f, 1e-5f, $"{name}: da");
        Close.Assert(f["db"], b.Grad!, 1e-5f, 1e-5f, $"{name}: db");
    }

    [Fact]
    public void TransposedViewIsReadInPlaceAndMatchesTorch()
    {
        var f = Fixtures.Load("matmul/transposed.safetensors");
        var (q, k) = (f["q"], f["k"]);
        q.RequiresGrad = true; k.RequiresGrad = true;
        var kt = k.Transpose(-1, -2);                 // [2, 5, 6] view of [2, 6, 5]
        Assert.Equal((true, 5), Ops.GemmLayout(kt));  // a transpose flag, no copy
        var y = q.MatMul(kt);
        Close.Assert(f["y"], y, 1e-5f, 1e-5f, "q·kᵀ");
        y.Backward(f["dy"]);
        Close.Assert(f["dq"], q.Grad!, 1e-5f, 1e-5f, "dq");
        Close.Assert(f["dk"], k.Grad!, 1e-5f, 1e-5f, "dk");
    }

    [Fact]
    public void LinearMatchesTorch()
    {
        var f = Fixtures.Load("matmul/linear.safetensors");
        var (x, w, bias) = (f["x"], f["w"], f["bias"]);
        x.RequiresGrad = true; w.RequiresGrad = true; bias.RequiresGrad = true;
        var y = x.Linear(w, bias);
        Close.Assert(f["y"], y, 1e-5f, 1e-5f, "linear y");
        y.Backward(f["dy"]);
        Close.Assert(f["dx"], x.Grad!, 1e-5f, 1e-5f, "linear dx");
        Close.Assert(f["dw"], w.Grad!, 1e-5f, 1e-5f, "linear dw");
        Close.Assert(f["dbias"], bias.Grad!, 1e-5f, 1e-5f, "linear dbias");
    }

    [Fact]
    public void LinearWithFrozenBF16WeightMatchesTorch()
    {
        var f = Fixtures.Load("matmul/linear_bf16.safetensors");
        var (x, w, bias) = (f["x"], f["w"], f["bias"]);
        Assert.Equal(DType.BF16, w.DType);
        x.RequiresGrad = true; bias.RequiresGrad = true;
        var y = x.Linear(w, bias);
        Close.Assert(f["y"], y, 1e-5f, 1e-5f, "bf16 linear y");
        y.Backward(f["dy"]);
        Close.Assert(f["dx"], x.Grad!, 1e-5f, 1e-5f, "bf16 linear dx");
        Close.Assert(f["dbias"], bias.Grad!, 1e-5f, 1e-5f, "bf16 linear dbias");
        Assert.Null(w.Grad);
    }

    [Fact]
    public void LinearWithF16WeightEqualsLinearWithItsWidenedValues()
    {
        var rng = new Random(5);
        var x = Tensor.Randn(rng, 1f, 4, 3, 33);
        var w16 = Tensor.Randn(rng, 0.5f, 19, 33).To(DType.F16);
        var w32 = w16.To(DType.F32);
        x.RequiresGrad = true;
        var dy = Tensor.Randn(rng, 1f, 4, 3, 19);
        var y16 = x.Linear(w16);
        y16.Backward(dy);
        var dx16 = x.Grad!;
        x.Grad = null;
        var y32 = x.Linear(w32);
        y32.Backward(dy);
        Close.Assert(y32, y16, 1e-6f, 1e-6f, "f16 weight forward");
        Close.Assert(x.Grad!, dx16, 1e-6f, 1e-6f, "f16 weight dx");
        // MatMul reads a compact right-hand side in place too (here through a transposed view).
        Close.Assert(x.MatMul(w32.Transpose(0, 1)), x.MatMul(w16.Transpose(0, 1)), 1e-6f, 1e-6f, "f16 MatMul");
    }

    [Fact]
    public void MatMulGradientsMatchFiniteDifferences()
    {
        var rng = new Random(2);
        FiniteDifference.Check(t => t[0].MatMul(t[1]), [Tensor.Randn(rng, 1f, 3, 1, 4, 5), Tensor.Randn(rng, 1f, 2, 5, 3)], 1e-2f, 1e-2f, 2e-3f);
        FiniteDifference.Check(t => t[0].MatMul(t[1].Transpose(0, 1)), [Tensor.Randn(rng, 1f, 4, 5), Tensor.Randn(rng, 1f, 3, 5)], 1e-2f, 1e-2f, 2e-3f);
        FiniteDifference.Check(t => t[0].Transpose(-1, -2).MatMul(t[1]), [Tensor.Randn(rng, 1f, 2, 5, 4), Tensor.Randn(rng, 1f, 5, 3)], 1e-2f, 1e-2f, 2e-3f);
    }

    [Fact]
    public void LinearGradientsMatchFiniteDifferences()
    {
        var rng = new Random(3);
        FiniteDifference.Check(t => t[0].Linear(t[1], t[2]),
            [Tensor.Randn(rng, 1f, 2, 3, 6), Tensor.Randn(rng, 1f, 4, 6), Tensor.Randn(rng, 1f, 4)], 1e-2f, 1e-2f, 2e-3f);
    }

    [Fact]
    public void LargeBatchedProductAgreesWithReferenceLoop()
    {
        // Big enough to use several threads and GEMM blocks; a transposed b and a broadcast a.
        var rng = new Random(4);
        var a = Tensor.Uniform(rng, -1, 1, 1, 70, 300);
        var bt = Tensor.Uniform(rng, -1, 1, 3, 50, 300);
        var y = a.MatMul(bt.Transpose(-1, -2));
        var expected = new float[3 * 70 * 50];
        for (int i = 0; i < 3; i++)
            GemmReference.Sgemm(false, true, 70, 50, 300, 1f, a.Data, 300, bt.Data.AsSpan(i * 50 * 300), 300, 0f, expected.AsSpan(i * 70 * 50), 50);
        Close.Assert(expected, y.ToArray(), 1e-4f, 1e-4f, "batched a·bᵀ");
    }

    [Fact]
    public void BadShapesAndDTypesNameTheOpAndShapes()
    {
        var e = Assert.Throws<ShapeException>(() => Tensor.Zeros(2, 3).MatMul(Tensor.Zeros(4, 5)));
        Assert.Contains("MatMul", e.Message); Assert.Contains("[2, 3]", e.Message); Assert.Contains("[4, 5]", e.Message);
        e = Assert.Throws<ShapeException>(() => Tensor.Zeros(2, 4, 3).MatMul(Tensor.Zeros(3, 3, 5)));
        Assert.Contains("[2, 4, 3]", e.Message); Assert.Contains("[3, 3, 5]", e.Message);
        e = Assert.Throws<ShapeException>(() => Tensor.Zeros(2, 7).Linear(Tensor.Zeros(4, 6)));
        Assert.Contains("Linear", e.Message); Assert.Contains("[2, 7]", e.Message); Assert.Contains("[4, 6]", e.Message);
        e = Assert.Throws<ShapeException>(() => Tensor.Zeros(2, 6).Linear(Tensor.Zeros(4, 6), Tensor.Zeros(5)));
        Assert.Contains("bias [5]", e.Message);

        var frozen = Tensor.Zeros(4, 6).To(DType.BF16);
        frozen.RequiresGrad = true;
        e = Assert.Throws<ShapeException>(() => Tensor.Zeros(2, 6).Linear(frozen));
        Assert.Contains("BF16", e.Message); Assert.Contains("requires grad", e.Message);
        e = Assert.Throws<ShapeException>(() => Tensor.Zeros(2, 6).Linear(Tensor.Zeros(4, 6).To(DType.I8)));
        Assert.Contains("I8", e.Message);
    }
}
