using System.Numerics.Tensors;

namespace Workbench.Engine;

public static partial class Ops
{
    /// <summary>
    /// softmax(scale·q·kᵀ + mask) · v per (batch, query head). q [B, Hq, T, D]; k, v [B, Hkv, S, D] with
    /// Hq % Hkv == 0 (query head h reads key/value head h / (Hq/Hkv), as transformers' repeat_kv). Causal: query
    /// i sees keys j ≤ i + S − T (the new tokens sit at the end of a KV cache). mask: additive, broadcastable
    /// to [B, Hq, T, S], treated as a constant. A row with no visible key outputs zeros and gets zero gradients
    /// (torch gives NaN there). Saves q, k, v, the output and one logsumexp per row; backward recomputes the
    /// probabilities. Output [B, Hq, T, D].
    /// </summary>
    public static Tensor ScaledDotProductAttention(Tensor q, Tensor k, Tensor v, bool causal = true, Tensor? mask = null, float? scale = null)
    {
        const string op = "ScaledDotProductAttention";
        if (q.Rank != 4 || k.Rank != 4 || !Engine.Shape.SameShape(k.Shape, v.Shape) || q.Shape[0] != k.Shape[0] || q.Shape[3] != k.Shape[3]
            || k.Shape[1] == 0 || q.Shape[1] % k.Shape[1] != 0)
            throw new ShapeException(op, $"expects q [B, Hq, T, D], k and v [B, Hkv, S, D] with Hq % Hkv == 0; got q {Engine.Shape.Format(q.Shape)}, " +
                $"k {Engine.Shape.Format(k.Shape)}, v {Engine.Shape.Format(v.Shape)}");
        var dims = new AttentionDims(q.Shape[0], q.Shape[1], k.Shape[1], q.Shape[2], k.Shape[2], q.Shape[3],
            scale ?? 1f / MathF.Sqrt(q.Shape[3]), causal);
        var m = mask is null ? null : AttentionMask.Broadcast(mask, dims);

        Tensor qc = q.Contiguous(), kc = k.Contiguous(), vc = v.Contiguous();
        var o = Tensor.Zeros(dims.B, dims.Hq, dims.T, dims.D);    // [B, Hq, T, D]
        var lse = new float[dims.B * dims.Hq * dims.T];            // [B, Hq, T]
        AttentionKernel.ForwardFast(dims, qc.Span, kc.Span, vc.Span, m, o.Span, lse);
        return Autograd.Record(o, op, [qc, kc, vc], g =>
        {
            var dq = Tensor.Zeros(qc.Shape);
            var dk = Tensor.Zeros(kc.Shape);
            var dv = Tensor.Zeros(vc.Shape);
            AttentionKernel.BackwardFast(dims, qc.Span, kc.Span, vc.Span, m, o.Span, lse, g.Contiguous().Span, dq.Span, dk.Span, dv.Span);
            return [qc.RequiresGrad ? dq : null, kc.RequiresGrad ? dk : null, vc.RequiresGrad ? dv : null];
        });
    }
}

/// <summary>Sizes of one attention call: batch, query heads, key/value heads, queries, keys, head dim.</summary>
public readonly record struct AttentionDims(int B, int Hq, int Hkv, int T, int S, int D, float Scale, bool Causal)
{
    /// <summary>Query heads per key/value head.</summary>
    public int Group => Hq / Hkv;

    /// <summary>Keys visible to query i: [0, Visible(i)), j ≤ i + S − T when causal.</summary>
    public int Visible(int i) => Causal ? Math.Clamp(i + S - T + 1, 0, S) : S;
}

/// <summary>An additive mask broadcast to [B, Hq, T, S] by zero strides (values as given, e.g. 0 / −∞).</summary>
public sealed class AttentionMask
{
    private readonly float[] values;
    private readonly int strideB, strideH, strideT, strideS;

    private AttentionMask(float[] values, int[] strides) =>
        (this.values, strideB, strideH, strideT, strideS) = (values, strides[0], strides[1], strides[2], strides[3]);

    public static AttentionMask Broadcast(Tensor mask, AttentionDims d)
    {
        int[] target = [d.B, d.Hq, d.T, d.S];
        if (mask.Rank > 4) throw new ShapeException("ScaledDotProductAttention", $"mask {Engine.Shape.Format(mask.Shape)} does not broadcast to {Engine.Shape.Format(target)}");
        var shape = Enumerable.Repeat(1, 4 - mask.Rank).Concat(mask.Shape).ToArray();
        var contiguous = Engine.Shape.ContiguousStrides(shape);
        var strides = new int[4];
        for (int i = 0; i < 4; i++)
        {
            if (shape[i] != 1 && shape[i] != target[i])
                throw new ShapeException("ScaledDotProductAttention", $"mask {Engine.Shape.Format(mask.Shape)} does not broadcast to {Engine.Shape.Format(target)}");
            strides[i] = shape[i] == 1 ? 0 : contiguous[i];
        }
        return new AttentionMask(mask.ToArray(), strides);
    }

    public float At(int b, int h, int i, int j) => values[b * strideB + h * strideH + i * strideT + j * strideS];

    /// <summary>row[j] += mask[b, h, i, j] for the first row.Length keys.</summary>
    public void AddTo(int b, int h, int i, Span<float> row)
    {
        int at = b * strideB + h * strideH + i * strideT;
        if (strideS == 0) TensorPrimitives.Add(row, values[at], row);
        else TensorPrimitives.Add(row, values.AsSpan(at, row.Length), row);
    }
}

/// <summary>
/// Attention forward (output and per-row logsumexp) and backward. Reference: plain loops, explicit
/// probabilities in double. Fast: Gemm per (batch, head), rows via TensorPrimitives, heads across cores;
/// backward recomputes P = exp(s − lse) instead of storing it.
/// </summary>
public static class AttentionKernel
{
    public static void ForwardReference(AttentionDims d, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        AttentionMask? mask, Span<float> o, Span<float> lse)
    {
        var p = new double[d.S];
        for (int b = 0; b < d.B; b++)
            for (int h = 0; h < d.Hq; h++)
                for (int i = 0; i < d.T; i++)
                {
                    int row = (b * d.Hq + h) * d.T + i;
                    double logSumExp = Probabilities(d, q, k, mask, b, h, i, p);
                    lse[row] = (float)logSumExp;
                    // o_i = Σ_j p_ij v_j
                    for (int e = 0; e < d.D; e++)
                    {
                        double sum = 0;
                        for (int j = 0; j < d.S; j++) sum += p[j] * v[KvRow(d, b, h, j) + e];
                        o[row * d.D + e] = (float)sum;
                    }
                }
    }

    public static void BackwardReference(AttentionDims d, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        AttentionMask? mask, ReadOnlySpan<float> dO, Span<float> dq, Span<float> dk, Span<float> dv)
    {
        var p = new double[d.S];
        var ds = new double[d.S];
        dq.Clear(); dk.Clear(); dv.Clear();
        for (int b = 0; b < d.B; b++)
            for (int h = 0; h < d.Hq; h++)
                for (int i = 0; i < d.T; i++)
                {
                    int row = ((b * d.Hq + h) * d.T + i) * d.D;
                    Probabilities(d, q, k, mask, b, h, i, p);
                    // dp_ij = dO_i · v_j ; ds_ij = p_ij (dp_ij − Σ_l p_il dp_il)
                    double mean = 0;
                    for (int j = 0; j < d.S; j++)
                    {
                        double dp = 0;
                        for (int e = 0; e < d.D; e++) dp += dO[row + e] * v[KvRow(d, b, h, j) + e];
                        ds[j] = dp;
                        mean += p[j] * dp;
                    }
                    for (int j = 0; j < d.S; j++) ds[j] = p[j] * (ds[j] - mean);
                    // dv_j += p_ij dO_i ; dq_i = scale Σ_j ds_ij k_j ; dk_j += scale ds_ij q_i
                    for (int j = 0; j < d.S; j++)
                    {
                        int kv = KvRow(d, b, h, j);
                        for (int e = 0; e < d.D; e++)
                        {
                            dv[kv + e] += (float)(p[j] * dO[row + e]);
                            dq[row + e] += (float)(d.Scale * ds[j] * k[kv + e]);
                            dk[kv + e] += (float)(d.Scale * ds[j] * q[row + e]);
                        }
                    }
                }
    }

    /// <summary>p_j = softmax_j(scale·q_i·k_j + mask_ij) over visible keys (0 elsewhere); returns the logsumexp (+∞ if none visible).</summary>
    private static double Probabilities(AttentionDims d, ReadOnlySpan<float> q, ReadOnlySpan<float> k, AttentionMask? mask, int b, int h, int i, double[] p)
    {
        int qRow = ((b * d.Hq + h) * d.T + i) * d.D, visible = d.Visible(i);
        double max = double.NegativeInfinity;
        for (int j = 0; j < d.S; j++)
        {
            double s = double.NegativeInfinity;
            if (j < visible)
            {
                double dot = 0;
                for (int e = 0; e < d.D; e++) dot += (double)q[qRow + e] * k[KvRow(d, b, h, j) + e];
                s = (float)(d.Scale * dot) + (mask?.At(b, h, i, j) ?? 0f);
            }
            p[j] = s;
            max = Math.Max(max, s);
        }
        if (double.IsNegativeInfinity(max)) { Array.Clear(p); return double.PositiveInfinity; }
        double sum = 0;
        for (int j = 0; j < d.S; j++) sum += p[j] = Math.Exp(p[j] - max);
        for (int j = 0; j < d.S; j++) p[j] /= sum;
        return max + Math.Log(sum);
    }

    private static int KvRow(AttentionDims d, int b, int h, int j) => (int)KvHead(d, b * d.Hq + h) + j * d.D;

    public static void ForwardFast(AttentionDims d, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        AttentionMask? mask, Span<float> o, Span<float> lse)
    {
        unsafe
        {
            fixed (float* pq = q, pk = k, pv = v, po = o, plse = lse)
            {
                nint qp = (nint)pq, kp = (nint)pk, vp = (nint)pv, op = (nint)po, lp = (nint)plse;
                Par.For(d.B * d.Hq, 1, (start, end) =>
                {
                    var scores = new float[d.T * d.S];             // [T, S]
                    for (int bh = start; bh < end; bh++)
                    {
                        long at = (long)bh * d.T * d.D, kvAt = KvHead(d, bh);
                        var qh = new ReadOnlySpan<float>((float*)qp + at, d.T * d.D);
                        var kh = new ReadOnlySpan<float>((float*)kp + kvAt, d.S * d.D);
                        var vh = new ReadOnlySpan<float>((float*)vp + kvAt, d.S * d.D);
                        // s = scale · q kᵀ
                        Gemm.Sgemm(false, true, d.T, d.S, d.D, d.Scale, qh, d.D, kh, d.D, 0f, scores, d.S);
                        var rowLse = new Span<float>((float*)lp + (long)bh * d.T, d.T);
                        for (int i = 0; i < d.T; i++)
                        {
                            var row = scores.AsSpan(i * d.S, d.S);
                            var live = row[..d.Visible(i)];
                            mask?.AddTo(bh / d.Hq, bh % d.Hq, i, live);
                            row[live.Length..].Clear();
                            float max = live.IsEmpty ? float.NegativeInfinity : TensorPrimitives.Max(live);
                            if (float.IsNegativeInfinity(max)) { live.Clear(); rowLse[i] = float.PositiveInfinity; continue; }
                            // p = exp(s − max) / Σ exp(s − max) ; lse = max + log Σ exp(s − max)
                            TensorPrimitives.Subtract(live, max, live);
                            TensorPrimitives.Exp(live, live);
                            float sum = TensorPrimitives.Sum(live);
                            TensorPrimitives.Multiply(live, 1f / sum, live);
                            rowLse[i] = max + MathF.Log(sum);
                        }
                        // o = p v
                        Gemm.Sgemm(false, false, d.T, d.D, d.S, 1f, scores, d.S, vh, d.D, 0f,
                            new Span<float>((float*)op + at, d.T * d.D), d.D);
                    }
                });
            }
        }
    }

    public static void BackwardFast(AttentionDims d, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        AttentionMask? mask, ReadOnlySpan<float> o, ReadOnlySpan<float> lse, ReadOnlySpan<float> dO,
        Span<float> dq, Span<float> dk, Span<float> dv)
    {
        // Query heads sharing a key/value head would race on dk/dv: each writes its own slice, summed after.
        int headKv = d.S * d.D;
        var dkHeads = d.Group == 1 ? null : new float[d.B * d.Hq * headKv];
        var dvHeads = d.Group == 1 ? null : new float[d.B * d.Hq * headKv];
        Span<float> dkOut = dkHeads is null ? dk : dkHeads, dvOut = dvHeads is null ? dv : dvHeads;
        unsafe
        {
            fixed (float* pq = q, pk = k, pv = v, po = o, plse = lse, pdo = dO, pdq = dq, pdk = dkOut, pdv = dvOut)
            {
                nint qp = (nint)pq, kp = (nint)pk, vp = (nint)pv, op = (nint)po, lp = (nint)plse, gp = (nint)pdo;
                nint dqp = (nint)pdq, dkp = (nint)pdk, dvp = (nint)pdv;
                Par.For(d.B * d.Hq, 1, (start, end) =>
                {
                    var p = new float[d.T * d.S];                  // [T, S]
                    var ds = new float[d.T * d.S];                 // [T, S]
                    for (int bh = start; bh < end; bh++)
                    {
                        long at = (long)bh * d.T * d.D, kvAt = KvHead(d, bh);
                        var qh = new ReadOnlySpan<float>((float*)qp + at, d.T * d.D);
                        var kh = new ReadOnlySpan<float>((float*)kp + kvAt, d.S * d.D);
                        var vh = new ReadOnlySpan<float>((float*)vp + kvAt, d.S * d.D);
                        var oh = new ReadOnlySpan<float>((float*)op + at, d.T * d.D);
                        var doh = new ReadOnlySpan<float>((float*)gp + at, d.T * d.D);
                        var rowLse = new ReadOnlySpan<float>((float*)lp + (long)bh * d.T, d.T);
                        // With Group == 1 the slice of head bh in dk is bh itself.
                        var dkh = new Span<float>((float*)dkp + (long)bh * headKv, headKv);
                        var dvh = new Span<float>((float*)dvp + (long)bh * headKv, headKv);

                        // p = exp(scale · q kᵀ + mask − lse), 0 for hidden keys
                        Gemm.Sgemm(false, true, d.T, d.S, d.D, d.Scale, qh, d.D, kh, d.D, 0f, p, d.S);
                        for (int i = 0; i < d.T; i++)
                        {
                            var row = p.AsSpan(i * d.S, d.S);
                            var live = row[..d.Visible(i)];
                            mask?.AddTo(bh / d.Hq, bh % d.Hq, i, live);
                            row[live.Length..].Clear();
                            TensorPrimitives.Subtract(live, rowLse[i], live);
                            TensorPrimitives.Exp(live, live);
                        }
                        // dv = pᵀ dO
                        Gemm.Sgemm(true, false, d.S, d.D, d.T, 1f, p, d.S, doh, d.D, 0f, dvh, d.D);
                        // dp = dO vᵀ
                        Gemm.Sgemm(false, true, d.T, d.S, d.D, 1f, doh, d.D, vh, d.D, 0f, ds, d.S);
                        // ds_ij = p_ij (dp_ij − dO_i · o_i)
                        for (int i = 0; i < d.T; i++)
                        {
                            var row = ds.AsSpan(i * d.S, d.S);
                            float rowDot = TensorPrimitives.Dot(doh.Slice(i * d.D, d.D), oh.Slice(i * d.D, d.D));
                            TensorPrimitives.Subtract(row, rowDot, row);
                            TensorPrimitives.Multiply(row, p.AsSpan(i * d.S, d.S), row);
                        }
                        // dq = scale · ds k ; dk = scale · dsᵀ q
                        Gemm.Sgemm(false, false, d.T, d.D, d.S, d.Scale, ds, d.S, kh, d.D, 0f,
                            new Span<float>((float*)dqp + at, d.T * d.D), d.D);
                        Gemm.Sgemm(true, false, d.S, d.D, d.T, d.Scale, ds, d.S, qh, d.D, 0f, dkh, d.D);
                    }
                });
            }
        }
        if (d.Group == 1) return;
        // dk[b, g] = Σ over the query heads h of group g of dk_h (likewise dv)
        dk.Clear(); dv.Clear();
        for (int bh = 0; bh < d.B * d.Hq; bh++)
        {
            int target = (int)KvHead(d, bh);
            TensorPrimitives.Add(dk.Slice(target, headKv), dkHeads.AsSpan(bh * headKv, headKv), dk.Slice(target, headKv));
            TensorPrimitives.Add(dv.Slice(target, headKv), dvHeads.AsSpan(bh * headKv, headKv), dv.Slice(target, headKv));
        }
    }

    /// <summary>Element offset of the key/value head read by flat query head bh = b·Hq + h.</summary>
    private static long KvHead(AttentionDims d, int bh) => (long)(bh / d.Hq * d.Hkv + bh % d.Hq / d.Group) * d.S * d.D;
}
