using Workbench.Engine;
using Workbench.Engine.Optim;

namespace Workbench.Quantization;

/// <summary>
/// AdamW with 8-bit states, as bitsandbytes' AdamW8bit (block-wise, optim_bits=8): both moments are stored in
/// blocks of 256 — one byte per element plus one fp32 absmax per block — m with the signed dynamic map
/// (create_dynamic_map(signed=True)), v with the unsigned one (signed=False). Each step decodes a block, applies
/// exactly <see cref="AdamW"/>'s update (bitsandbytes' CPU path has the same order: decay, then
/// p −= lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)), and encodes the new moments with the block's new absmax, rounding
/// to the nearest code. Parameters under 4,096 elements keep fp32 moments (bnb's min_8bit_size), since their
/// constants would not pay off. States take 2 + 8/256 bytes per element instead of 8: ~3.9× smaller.
/// <para>
/// Paged variants (bnb's PagedAdamW8bit / paged_adamw_8bit, PagedAdamW / paged_adamw_32bit): on a GPU
/// bitsandbytes allocates the states of tensors with ≥ 1e5 elements in CUDA unified memory, which the driver
/// pages out to CPU RAM when the GPU runs short (the memory spikes of long sequences) and back on access, so
/// training does not stop with out-of-memory. This engine keeps every state in CPU RAM already, so there is
/// nothing to page: <c>Optimizers.Create</c> (Training) accepts the paged names as plain aliases of the unpaged
/// optimisers, with identical results. See docs/paged-optimizers.md.
/// </para>
/// </summary>
public sealed class AdamW8bit : IOptimizer
{
    public const int BlockSize = 256;
    /// <summary>Tensors smaller than this keep fp32 moments (bitsandbytes' min_8bit_size).</summary>
    public const int MinQuantizedSize = 4096;

    private readonly Tensor[] parameters;
    private readonly MomentState[] states;

    public float Lr { get; set; }
    public float Beta1 { get; }
    public float Beta2 { get; }
    public float Eps { get; }
    public float WeightDecay { get; }
    public int StepCount { get; set; }
    public IReadOnlyList<Tensor> Parameters => parameters;
    public IReadOnlyList<MomentState> States => states;
    public long StateBytes => states.Sum(s => s.Bytes);

    public AdamW8bit(IReadOnlyList<Tensor> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0.01f)
    {
        this.parameters = OptimizerParameters.Validate(parameters, "AdamW8bit");
        (Lr, Beta1, Beta2, Eps, WeightDecay) = (lr, beta1, beta2, eps, weightDecay);
        states = this.parameters.Select(p => new MomentState(p.Numel)).ToArray();
    }

    public void Step()
    {
        StepCount++;
        var h = AdamWKernel.Hyper.At(Lr, WeightDecay, Beta1, Beta2, Eps, StepCount);
        for (int i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            if (p.Grad is null) continue;
            if (!Shape.SameShape(p.Grad.Shape, p.Shape))
                throw new ShapeException("AdamW8bit", $"gradient {Shape.Format(p.Grad.Shape)} for parameter {p}");
            var s = states[i];
            var g = p.Grad.Contiguous().Span;
            if (s.IsQuantized) AdamW8bitKernel.Fast(g, h, p.Span, s);
            else AdamWKernel.Fast(g, h, p.Span, s.M!, s.V!);
        }
    }

    public void ZeroGrad()
    {
        foreach (var p in parameters) p.Grad = null;
    }
}

/// <summary>
/// The moments of one parameter: fp32 arrays for small tensors, else codes (one byte per element) and one fp32
/// absmax per block of 256 for m (signed dynamic map) and v (unsigned dynamic map). All zero at the start.
/// </summary>
public sealed class MomentState
{
    public float[]? M { get; }
    public float[]? V { get; }
    public byte[]? MCodes { get; }
    public byte[]? VCodes { get; }
    public float[]? MAbsmax { get; }
    public float[]? VAbsmax { get; }
    public bool IsQuantized => MCodes is not null;

    public long Bytes => IsQuantized ? MCodes!.LongLength + VCodes!.LongLength + 4L * (MAbsmax!.Length + VAbsmax!.Length) : 4L * (M!.Length + V!.Length);

    public MomentState(long numel)
    {
        int n = checked((int)numel);
        if (n < AdamW8bit.MinQuantizedSize) { M = new float[n]; V = new float[n]; return; }
        int blocks = QuantizeKernel.BlockCount(n, AdamW8bit.BlockSize);
        // code of 0.0 in each map, so that the initial state decodes to exactly zero
        MCodes = new byte[n]; MCodes.AsSpan().Fill((byte)Array.IndexOf(DynamicMap.Signed.Values, 0f));
        VCodes = new byte[n]; VCodes.AsSpan().Fill((byte)Array.IndexOf(DynamicMap.Unsigned.Values, 0f));
        MAbsmax = new float[blocks];
        VAbsmax = new float[blocks];
    }

    /// <summary>m and v decoded to fp32 (for checkpoints and tests).</summary>
    public (float[] M, float[] V) Decode()
    {
        if (!IsQuantized) return ((float[])M!.Clone(), (float[])V!.Clone());
        var m = new float[MCodes!.Length];
        var v = new float[VCodes!.Length];
        DequantizeKernel.Fast(MCodes, MAbsmax, DynamicMap.Signed, AdamW8bit.BlockSize, 0, m);
        DequantizeKernel.Fast(VCodes, VAbsmax, DynamicMap.Unsigned, AdamW8bit.BlockSize, 0, v);
        return (m, v);
    }
}

/// <summary>
/// One 8-bit AdamW step over a parameter, block by block:
///   m = dynamic[c_m]·absmax_m, v = udynamic[c_v]·absmax_v   (decode)
///   AdamW update of p, m, v                                  (<see cref="AdamWKernel"/>)
///   absmax = max |m| (max v), c = nearest code of m/absmax   (encode)
/// </summary>
public static class AdamW8bitKernel
{
    /// <summary>Blocks decoded at once by <see cref="Fast"/> (64K elements: two 256 KiB scratch buffers).</summary>
    private const int ChunkBlocks = 256;

    /// <summary>The plain definition: one block at a time, element by element.</summary>
    public static void Reference(ReadOnlySpan<float> g, AdamWKernel.Hyper h, Span<float> p, MomentState s)
    {
        int n = p.Length, b = AdamW8bit.BlockSize;
        var m = new float[b];
        var v = new float[b];
        for (int block = 0; block * b < n; block++)
        {
            int start = block * b, count = Math.Min(b, n - start);
            for (int i = 0; i < count; i++)
            {
                m[i] = DynamicMap.Signed.Values[s.MCodes![start + i]] * s.MAbsmax![block];
                v[i] = DynamicMap.Unsigned.Values[s.VCodes![start + i]] * s.VAbsmax![block];
            }
            AdamWKernel.Reference(g.Slice(start, count), h, p.Slice(start, count), m.AsSpan(0, count), v.AsSpan(0, count));
            s.MAbsmax![block] = Encode(m.AsSpan(0, count), DynamicMap.Signed, s.MCodes.AsSpan(start, count));
            s.VAbsmax![block] = Encode(v.AsSpan(0, count), DynamicMap.Unsigned, s.VCodes.AsSpan(start, count));
        }
    }

    /// <summary>The same bytes, faster: chunks of blocks through the vectorised dequantise, AdamW and quantise kernels.</summary>
    public static void Fast(ReadOnlySpan<float> g, AdamWKernel.Hyper h, Span<float> p, MomentState s)
    {
        int n = p.Length, chunk = ChunkBlocks * AdamW8bit.BlockSize;
        var m = new float[Math.Min(n, chunk)];
        var v = new float[Math.Min(n, chunk)];
        for (int start = 0; start < n; start += chunk)
        {
            int count = Math.Min(chunk, n - start), block = start / AdamW8bit.BlockSize, blocks = QuantizeKernel.BlockCount(count, AdamW8bit.BlockSize);
            Span<float> mc = m.AsSpan(0, count), vc = v.AsSpan(0, count);
            DequantizeKernel.Fast(s.MCodes.AsSpan(start, count), s.MAbsmax.AsSpan(block, blocks), DynamicMap.Signed, AdamW8bit.BlockSize, 0, mc);
            DequantizeKernel.Fast(s.VCodes.AsSpan(start, count), s.VAbsmax.AsSpan(block, blocks), DynamicMap.Unsigned, AdamW8bit.BlockSize, 0, vc);
            AdamWKernel.Fast(g.Slice(start, count), h, p.Slice(start, count), mc, vc);
            QuantizeKernel.Fast(mc, DynamicMap.Signed, AdamW8bit.BlockSize, s.MCodes.AsSpan(start, count), s.MAbsmax.AsSpan(block, blocks));
            QuantizeKernel.Fast(vc, DynamicMap.Unsigned, AdamW8bit.BlockSize, s.VCodes.AsSpan(start, count), s.VAbsmax.AsSpan(block, blocks));
        }
    }

    /// <summary>absmax = max |x|; c_i = argmin_k |x_i/absmax − code_k| (as <see cref="QuantizeKernel.Reference"/>).</summary>
    private static float Encode(ReadOnlySpan<float> x, CodeBook book, Span<byte> codes)
    {
        float absmax = 0f;
        foreach (var value in x) absmax = MathF.Max(absmax, MathF.Abs(value));
        float r = 1f / absmax;
        for (int i = 0; i < x.Length; i++) codes[i] = (byte)book.Nearest(Math.Clamp(x[i] * r, -1f, 1f));
        return absmax;
    }
}
