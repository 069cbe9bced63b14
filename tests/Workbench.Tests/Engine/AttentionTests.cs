using Workbench.Engine;
using Workbench.Tests.Support;

namespace Workbench.Tests.Engine;

public class AttentionTests
{
    private static readonly Dictionary<string, Tensor> F = Fixtures.Load("layers/attention.safetensors");

    [Theory]
    [InlineData("causal_gqa", true, null)]     // B 2, Hq 4, Hkv 2, T = S = 5
    [InlineData("decode_mqa", true, null)]     // Hkv 1, T 3 over S 7 (KV cache), left padding mask
    [InlineData("full_mask", false, 0.3f)]     // not causal, dense additive mask, explicit scale
    public void ForwardAndGradientsMatchTorch(string name, bool causal, float? scale)
    {
        Tensor q = F[$"{name}_q"], k = F[$"{name}_k"], v = F[$"{name}_v"];
        foreach (var t in new[] { q, k, v }) t.RequiresGrad = true;
        var o = Ops.ScaledDotProductAttention(q, k, v, causal, F.GetValueOrDefault($"{name}_mask"), scale);
        Close.Assert(F[$"{name}_o"], o, 1e-5f, 1e-6f, "attention output");
        o.Backward(F[$"{name}_go"]);
        Close.Assert(F[$"{name}_dq"], q.Grad!, 1e-4f, 1e-5f, "dq");
        Close.Assert(F[$"{name}_dk"], k.Grad!, 1e-4f, 1e-5f, "dk");
        Close.Assert(F[$"{name}_dv"], v.Grad!, 1e-4f, 1e-5f, "dv");
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        var rng = new Random(1);
        var mask = Tensor.Zeros(2, 1, 1, 5);
        mask.Data[5] = float.NegativeInfinity;                     // batch 1 cannot see key 0
        Tensor[] inputs = [Tensor.Randn(rng, 1f, 2, 4, 3, 4), Tensor.Randn(rng, 1f, 2, 2, 5, 4), Tensor.Randn(rng, 1f, 2, 2, 5, 4)];
        FiniteDifference.Check(t => Ops.ScaledDotProductAttention(t[0], t[1], t[2], causal: true, mask), inputs,
            eps: 1e-2f, rtol: 2e-2f, atol: 2e-3f);
    }

    [Theory]
    [InlineData(2, 6, 3, 7, 7, 16, true)]        // grouped-query, square causal
    [InlineData(1, 4, 1, 5, 9, 8, true)]         // multi-query, decoding offset 4
    [InlineData(2, 2, 2, 6, 4, 8, true)]         // T > S: the first two rows see no key at all
    [InlineData(1, 2, 1, 3, 10, 12, false)]
    public void FastKernelsMatchReference(int b, int hq, int hkv, int t, int s, int dHead, bool causal)
    {
        var rng = new Random(2);
        var d = new AttentionDims(b, hq, hkv, t, s, dHead, 1f / MathF.Sqrt(dHead), causal);
        var q = Tensor.Randn(rng, 1f, b, hq, t, dHead).Span.ToArray();
        var k = Tensor.Randn(rng, 1f, b, hkv, s, dHead).Span.ToArray();
        var v = Tensor.Randn(rng, 1f, b, hkv, s, dHead).Span.ToArray();
        var dO = Tensor.Randn(rng, 1f, b, hq, t, dHead).Span.ToArray();
        var maskTensor = Tensor.Randn(rng, 1f, b, 1, t, s);
        maskTensor.Data[s - 1] = float.NegativeInfinity;
        var mask = AttentionMask.Broadcast(maskTensor, d);

        float[] oRef = new float[q.Length], oFast = new float[q.Length], lseRef = new float[b * hq * t], lseFast = new float[b * hq * t];
        AttentionKernel.ForwardReference(d, q, k, v, mask, oRef, lseRef);
        AttentionKernel.ForwardFast(d, q, k, v, mask, oFast, lseFast);
        Close.Assert(oRef, oFast, 1e-5f, 1e-6f, "output");
        Close.Assert(lseRef, lseFast, 1e-5f, 1e-6f, "logsumexp");

        float[] dqRef = new float[q.Length], dkRef = new float[k.Length], dvRef = new float[v.Length];
        float[] dqFast = new float[q.Length], dkFast = new float[k.Length], dvFast = new float[v.Length];
        AttentionKernel.BackwardReference(d, q, k, v, mask, dO, dqRef, dkRef, dvRef);
        AttentionKernel.BackwardFast(d, q, k, v, mask, oFast, lseFast, dO, dqFast, dkFast, dvFast);
        Close.Assert(dqRef, dqFast, 1e-4f, 1e-5f, "dq");
        Close.Assert(dkRef, dkFast, 1e-4f, 1e-5f, "dk");
        Close.Assert(dvRef, dvFast, 1e-4f, 1e-5f, "dv");
    }

    [Fact]
    public void FullyMaskedRowsGiveZerosAndFiniteGradients()
    {
        var rng = new Random(3);
        Tensor q = Tensor.Randn(rng, 1f, 1, 2, 3, 4), k = Tensor.Randn(rng, 1f, 1, 1, 3, 4), v = Tensor.Randn(rng, 1f, 1, 1, 3, 4);
        foreach (var t in new[] { q, k, v }) t.RequiresGrad = true;
        var mask = Tensor.Zeros(1, 1, 3, 3);
        for (int j = 0; j < 3; j++) mask.Data[3 + j] = float.NegativeInfinity;   // query row 1 sees nothing
        var o = Ops.ScaledDotProductAttention(q, k, v, causal: false, mask);
        for (int h = 0; h < 2; h++)
            for (int e = 0; e < 4; e++) Assert.Equal(0f, o[0, h, 1, e]);
        o.Backward(Tensor.Randn(rng, 1f, 1, 2, 3, 4));
        foreach (var g in new[] { q.Grad!, k.Grad!, v.Grad! })
            Assert.All(g.ToArray(), x => Assert.True(float.IsFinite(x)));
        for (int e = 0; e < 4; e++) Assert.Equal(0f, q.Grad![0, 0, 1, e]);
    }

    [Fact]
    public void StridedInputsFromTransposeGiveTheSameResult()
    {
        var rng = new Random(4);
        var qBthd = Tensor.Randn(rng, 1f, 2, 5, 4, 8);                          // [B, T, H, D]
        var kBthd = Tensor.Randn(rng, 1f, 2, 5, 2, 8);
        var vBthd = Tensor.Randn(rng, 1f, 2, 5, 2, 8);
        foreach (var t in new[] { qBthd, kBthd, vBthd }) t.RequiresGrad = true;
        var upstream = Tensor.Randn(rng, 1f, 2, 4, 5, 8);
        var strided = Ops.ScaledDotProductAttention(qBthd.Transpose(1, 2), kBthd.Transpose(1, 2), vBthd.Transpose(1, 2));
        strided.Backward(upstream);
        var grads = new[] { qBthd, kBthd, vBthd }.Select(t => t.Grad!).ToArray();
        foreach (var t in new[] { qBthd, kBthd, vBthd }) t.Grad = null;

        var copied = Ops.ScaledDotProductAttention(qBthd.Transpose(1, 2).Contiguous(), kBthd.Transpose(1, 2).Contiguous(), vBthd.Transpose(1, 2).Contiguous());
        copied.Backward(upstream);
        Close.Assert(copied, strided, 0, 0, "output");
        Close.Assert(qBthd.Grad!, grads[0], 0, 0, "dq");
        Close.Assert(kBthd.Grad!, grads[1], 0, 0, "dk");
        Close.Assert(vBthd.Grad!, grads[2], 0, 0, "dv");
    }

    [Fact]
    public void BadShapesNameTheOpAndShapes()
    {
        var ex = Assert.Throws<ShapeException>(() =>
            Ops.ScaledDotProductAttention(Tensor.Zeros(1, 3, 2, 4), Tensor.Zeros(1, 2, 2, 4), Tensor.Zeros(1, 2, 2, 4)));
        Assert.Contains("ScaledDotProductAttention", ex.Message);
        Assert.Contains("[1, 3, 2, 4]", ex.Message);
        Assert.Throws<ShapeException>(() =>
            Ops.ScaledDotProductAttention(Tensor.Zeros(1, 2, 2, 4), Tensor.Zeros(1, 2, 3, 4), Tensor.Zeros(1, 2, 3, 4), mask: Tensor.Zeros(2, 1, 1, 3)));
    }
}
