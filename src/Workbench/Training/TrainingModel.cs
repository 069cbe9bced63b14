using Workbench.Adapters;
using Workbench.Adapters.Ia3;
using Workbench.Adapters.Lora;
using Workbench.Engine;
using Workbench.Engine.Nn;
using Workbench.Models;
using Workbench.Quantization;

namespace Workbench.Training;

/// <summary>
/// The model a run trains: the base model loaded from its directory, then made trainable by the configured
/// method. The trainer itself is adapter-agnostic: it trains whatever <see cref="Module.TrainableParameters"/>
/// returns after this.
/// </summary>
public static class TrainingModel
{
    /// <summary>
    /// Loads any supported architecture. A full fine-tune needs fp32 weights to train; adapters hold the frozen base
    /// as torch_dtype says (the file's dtype by default), or quantise its linear layers (all but the output head) as
    /// QLoRA does.
    /// </summary>
    public static ICausalLM LoadBase(TrainingConfig c)
    {
        if (!Directory.Exists(c.BaseModel)) throw new TrainingConfigException($"base_model: {c.BaseModel}: no such directory");
        ICausalLM model;
        DType? dtype = c.Adapter == AdapterMethod.None ? DType.F32 : c.TorchDtype switch
        {
            BaseDType.Float32 => DType.F32,
            BaseDType.Bfloat16 => DType.BF16,
            BaseDType.Float16 => DType.F16,
            _ => null,
        };
        try { model = CausalLM.Load(c.BaseModel, dtype); }
        catch (Exception e) when (e is FileNotFoundException or NotSupportedException or ModelConfigException)
        {
            throw new TrainingConfigException($"base_model: {e.Message}");
        }
        if (c.Quantization != BaseQuantization.None)
            ModelQuantizer.Quantize((Module)model, new QuantOptions { Type = QuantTypeOf(c.Quantization), DoubleQuant = c.DoubleQuant });
        return model;
    }

    private static QuantType QuantTypeOf(BaseQuantization q) => q switch
    {
        BaseQuantization.Nf4 => QuantType.Nf4,
        BaseQuantization.Fp4 => QuantType.Fp4,
        BaseQuantization.Int8 => QuantType.Int8,
        _ => throw new ArgumentOutOfRangeException(nameof(q), q, "not a quantised type"),
    };

    /// <summary>
    /// Adds the adapter (LoRA or IA3, base frozen) and returns it, or marks every parameter trainable for a full
    /// fine-tune (null). Adapter weights are drawn from <c>seed</c>, so a resumed run rebuilds the same model
    /// before loading the checkpoint over it.
    /// </summary>
    public static PeftModel? Prepare(Module model, TrainingConfig c)
    {
        AdapterConfig adapter;
        switch (c.Adapter)
        {
            case AdapterMethod.None:
                foreach (var (_, t) in model.NamedParameters()) t.RequiresGrad = true;
                return null;
            case AdapterMethod.Lora:
                adapter = new LoraConfig { BaseModelNameOrPath = c.BaseModel, R = c.LoraR, LoraAlpha = c.LoraAlpha, LoraDropout = c.LoraDropout, TargetModules = Targets(c) };
                break;
            case AdapterMethod.Ia3:
                adapter = new Ia3Config { BaseModelNameOrPath = c.BaseModel, TargetModules = Targets(c) };
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(c), c.Adapter, "unknown adapter method");
        }
        try
        {
            var peft = PeftModel.Create(model, adapter, seed: c.Seed);
            peft.Train();
            return peft;
        }
        catch (ArgumentException e) { throw new TrainingConfigException($"target_modules: {e.Message}"); }
    }

    /// <summary>The configured targets; none: PEFT's defaults for the model type; "all-linear": every linear layer but the head.</summary>
    private static TargetModules? Targets(TrainingConfig c) => c.TargetModules switch
    {
        [] => null,
        ["all-linear"] => TargetModules.AllLinear,
        var names => TargetModules.Of(names),
    };
}
