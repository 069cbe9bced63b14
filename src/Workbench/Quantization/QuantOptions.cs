using Workbench.Engine;

namespace Workbench.Quantization;

/// <summary>
/// How to store a model's linear layers, as transformers' BitsAndBytesConfig in one flat record:
/// <c>load_in_4bit</c> with <c>bnb_4bit_quant_type</c> (nf4 | fp4), <c>bnb_4bit_use_double_quant</c> and the
/// block size (64), or <c>load_in_8bit</c>. Compute is always fp32 here (bnb_4bit_compute_dtype has no choice
/// to make on this CPU engine). Layers named in <see cref="SkipModules"/> (the output head, as transformers'
/// <c>llm_int8_skip_modules</c> defaults) and the embeddings stay unquantised, stored in <see cref="KeptDType"/>.
/// </summary>
public sealed record QuantOptions
{
    /// <summary>Nf4 or Fp4 (bitsandbytes-compatible 4-bit), Int4 (the QLoRA paper's baseline) or Int8.</summary>
    public QuantType Type { get; init; } = QuantType.Nf4;
    public bool DoubleQuant { get; init; }
    public int BlockSize { get; init; } = 64;
    /// <summary>Last path segments of linear layers left unquantised.</summary>
    public IReadOnlyCollection<string> SkipModules { get; init; } = ["lm_head", "embed_out"];
    /// <summary>Storage of embeddings and skipped layers (transformers keeps them in torch_dtype, usually bf16).</summary>
    public DType KeptDType { get; init; } = DType.BF16;

    /// <summary>QLoRA's choice: NF4 with double quantisation.</summary>
    public static QuantOptions QLora => new() { Type = QuantType.Nf4, DoubleQuant = true };

    /// <summary>
    /// The CLI flags <c>--load-in-4bit [--quant-type nf4|fp4] [--double-quant]</c> or <c>--load-in-8bit</c>;
    /// null when neither is given. The quant type defaults to nf4 (QLoRA), not transformers' fp4.
    /// </summary>
    public static QuantOptions? FromFlags(bool loadIn4bit, bool loadIn8bit, string quantType = "nf4", bool doubleQuant = false)
    {
        if (loadIn4bit && loadIn8bit) throw new ArgumentException("--load-in-4bit and --load-in-8bit exclude each other");
        if (loadIn8bit) return new QuantOptions { Type = QuantType.Int8 };
        if (!loadIn4bit) return null;
        var type = QuantTypes.Parse(quantType);
        if (type is not (QuantType.Nf4 or QuantType.Fp4)) throw new ArgumentException($"--quant-type must be nf4 or fp4, not '{quantType}'");
        return new QuantOptions { Type = type, DoubleQuant = doubleQuant };
    }

    public override string ToString() =>
        $"{Type.Name()}{(DoubleQuant ? "+dq" : "")}/{BlockSize}";
}
