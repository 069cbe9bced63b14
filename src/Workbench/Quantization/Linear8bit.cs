using Workbench.Engine;

namespace Workbench.Quantization;

/// <summary>
/// A frozen 8-bit linear layer with a simple scheme: block-wise symmetric absmax int8 (k/127, one fp32
/// absmax per block of 64 consecutive weights, blocks running along rows), decoded to fp32 panel by panel
/// inside the GEMM. This is not bitsandbytes' LLM.int8(), which uses row-wise absmax, int8 matrix products and
/// keeps outlier feature columns in 16-bit; it costs 8.5 bits per weight at block 64.
/// </summary>
public sealed class Linear8bit : QuantizedLinear
{
    public Linear8bit(QuantizedTensor weight, Tensor? bias = null) : base(weight, bias)
    {
        if (weight.Type != QuantType.Int8) throw new ArgumentException($"Linear8bit: weight is {weight.Type.Name()}, not int8");
    }

    public static Linear8bit Quantize(Tensor weight, Tensor? bias = null, int blockSize = 64)
        => new(QuantizedTensor.Quantize(weight, QuantType.Int8, blockSize), bias);
}
