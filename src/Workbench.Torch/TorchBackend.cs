using Workbench.Backends;
using Workbench.Models;
using Workbench.Torch.Adapters;
using Workbench.Torch.Models;
using Workbench.Torch.Training;

namespace Workbench.Torch;

/// <summary>
/// libtorch through TorchSharp as a compute backend ("torch"): the same model folders, PEFT adapter folders and
/// quantisation options as the managed engine, on the CPU or a CUDA device. <see cref="Register"/> once per process
/// makes it selectable by name; libtorch itself loads on first use.
/// </summary>
public sealed class TorchBackend : IComputeBackend
{
    public static TorchBackend Instance { get; } = new();

    public string Name => "torch";

    /// <summary>Adds this backend to <see cref="ComputeBackends"/>.</summary>
    public static void Register() => ComputeBackends.Register(Instance);

    public ICausalLM Load(string modelDirectory, InferenceSetup setup)
    {
        var model = TorchModels.Load(modelDirectory, TorchRuntime.Device(setup.Device), setup.BaseDType, setup.Quantization);
        if (setup.AdapterDirectory is { } adapter) TorchPeftModel.Load(model, adapter);
        return model;
    }

    /// <summary>An adapter over the frozen base, its initial values drawn from the seed as the managed engine draws them.</summary>
    public ITrainableLM LoadForTraining(string modelDirectory, TrainingSetup setup)
    {
        if (setup.Adapter is null) throw new NotSupportedException("full fine-tuning (method none) runs on --backend managed; the torch backend trains adapters");
        var model = TorchModels.Load(modelDirectory, TorchRuntime.Device(setup.Device), setup.BaseDType, setup.Quantization);
        return new TorchTrainableLM(model, TorchPeftModel.Create(model, setup.Adapter, seed: setup.Seed), setup.WeightDecay);
    }
}
