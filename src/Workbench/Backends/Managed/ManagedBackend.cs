using Workbench.Adapters;
using Workbench.Engine;
using Workbench.Models;
using Workbench.Quantization;

namespace Workbench.Backends.Managed;

/// <summary>The managed engine as a compute backend: <see cref="CausalLMModule"/>s with PEFT adapters, on the CPU.</summary>
public sealed class ManagedBackend : IComputeBackend
{
    public static ManagedBackend Instance { get; } = new();

    public string Name => "managed";

    public ICausalLM Load(string modelDirectory, InferenceSetup setup)
    {
        RequireCpu(setup);
        var model = LoadBase(modelDirectory, setup.BaseDType, setup.Quantization);
        if (setup.AdapterDirectory is { } adapter) PeftModel.Load(model, adapter);
        return model;
    }

    /// <summary>A full fine-tune widens the base to fp32 whatever the setup says: trained weights are fp32.</summary>
    public ITrainableLM LoadForTraining(string modelDirectory, TrainingSetup setup)
    {
        RequireCpu(setup);
        return Prepare(LoadBase(modelDirectory, setup.Adapter is null ? DType.F32 : setup.BaseDType, setup.Quantization), setup);
    }

    /// <summary>
    /// A built model made trainable: the adapter injected over the frozen base (its weights drawn from the seed, so
    /// a resumed run rebuilds the same model before loading the checkpoint over it), or every parameter unfrozen.
    /// </summary>
    public ManagedTrainableLM Prepare(CausalLMModule model, TrainingSetup setup)
    {
        PeftModel? peft = null;
        if (setup.Adapter is null)
            foreach (var (_, t) in model.NamedParameters()) t.RequiresGrad = true;
        else
            peft = PeftModel.Create(model, setup.Adapter, seed: setup.Seed);
        return new ManagedTrainableLM(model, peft, setup.WeightDecay);
    }

    /// <summary>The managed engine has no device but the CPU.</summary>
    private static void RequireCpu(ModelSetup setup)
    {
        if (setup.Device != ModelSetup.CpuDevice)
            throw new BackendUnavailableException($"device '{setup.Device}': the managed engine runs on the CPU only; use --backend torch for a GPU");
    }

    private static CausalLMModule LoadBase(string directory, DType? dtype, QuantOptions? quantization)
    {
        var model = CausalLM.Load(directory, dtype);
        if (quantization is not null) ModelQuantizer.Quantize(model, quantization);
        return model;
    }
}
