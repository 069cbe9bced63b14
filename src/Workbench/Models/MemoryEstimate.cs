namespace Workbench.Models;

/// <summary>Bytes the weights of a <see cref="ParameterLayout"/> need, in a dtype or quantised (weights only: no activations, gradients or optimiser state).</summary>
public static class MemoryEstimate
{
    /// <summary>Element size of a PyTorch dtype name as written in config.json.</summary>
    public static int BytesPerElement(string torchDtype) => torchDtype switch
    {
        "float64" or "int64" => 8,
        "float32" or "int32" => 4,
        "float16" or "bfloat16" or "int16" => 2,
        "int8" or "uint8" or "bool" or "float8_e4m3fn" or "float8_e5m2" => 1,
        _ => throw new ArgumentException($"MemoryEstimate: unknown dtype '{torchDtype}'"),
    };

    public static long Weights(ParameterLayout layout, string torchDtype) => layout.TotalParameters * BytesPerElement(torchDtype);

    /// <summary>
    /// QLoRA-style 4-bit (bitsandbytes NF4): Linear weights of attention and MLP packed two codes per byte plus
    /// one absmax per block of <paramref name="blockSize"/> — fp32, or with double quantisation an 8-bit code per
    /// block plus one fp32 per 256 blocks. Embeddings, norms, biases and the output head stay in
    /// <paramref name="otherDtype"/>, as transformers leaves them. Per-tensor constants (code tables) are ignored.
    /// </summary>
    public static long Nf4(ParameterLayout layout, int blockSize = 64, bool doubleQuant = true, string otherDtype = "bfloat16")
    {
        long total = 0;
        foreach (var p in layout.Parameters)
        {
            if (!p.IsLinearWeight) { total += p.Numel * BytesPerElement(otherDtype); continue; }
            long blocks = (p.Numel + blockSize - 1) / blockSize;
            long absmax = doubleQuant ? blocks + (blocks + 255) / 256 * 4 : blocks * 4;
            total += (p.Numel + 1) / 2 + absmax;
        }
        return total;
    }
}
