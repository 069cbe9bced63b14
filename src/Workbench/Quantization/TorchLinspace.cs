namespace Workbench.Quantization;

/// <summary>
/// torch.linspace(start, end, steps) in fp32, bit for bit as PyTorch's CPU kernel (AVX2 build) computes it.
/// bitsandbytes derives its NF4 and dynamic code books from fp32 linspace values, so their last bits depend
/// on this rounding. The kernel computes step = (end − start)/(steps − 1) and
///   element i = start + step·i (i &lt; steps/2) or end − step·(steps − 1 − i) (otherwise), each one fused
///   multiply-add; but runs of 16 elements are written as two vectors of 8: vector base b (one fused
///   multiply-add as above, at the vector's first index) then b + fl(j·step) for j = 0…7 (not fused).
/// </summary>
public static class TorchLinspace
{
    private const int VectorWidth = 8;

    public static float[] Create(float start, float end, int steps)
    {
        var result = new float[steps];
        if (steps == 1) { result[0] = start; return result; }
        float step = (end - start) / (steps - 1);
        int half = steps / 2;
        float Fused(int i) => i < half ? MathF.FusedMultiplyAdd(step, i, start) : MathF.FusedMultiplyAdd(-step, steps - 1 - i, end);

        int index = 0;
        while (index + 2 * VectorWidth <= steps)          // the kernel writes two vectors per round
            for (int v = 0; v < 2; v++, index += VectorWidth)
            {
                float b = Fused(index);
                for (int j = 0; j < VectorWidth; j++) result[index + j] = b + j * step;
            }
        for (; index < steps; index++) result[index] = Fused(index);
        return result;
    }
}
