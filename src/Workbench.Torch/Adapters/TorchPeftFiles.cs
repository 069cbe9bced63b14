using TorchSharp;
using Workbench.Adapters;

namespace Workbench.Torch.Adapters;

/// <summary>
/// PEFT's adapter folder for a <see cref="TorchPeftModel"/>, the same contract as the managed <see cref="PeftFormat"/>
/// (whose config reader and writer it uses): <c>adapter_config.json</c> and <c>adapter_model.safetensors</c> with keys
/// <c>base_model.model.{module}.lora_A.weight</c>; "default" in the folder itself, another adapter in a subfolder of its
/// name. Files written by either backend load in the other.
/// </summary>
public static class TorchPeftFiles
{
    public static IReadOnlyList<string> Save(TorchPeftModel peft, string directory, IEnumerable<string>? adapters = null) =>
        (adapters ?? peft.AdapterNames).Select(name => PeftFormat.WriteFolder(directory, name, peft.Config(name),
            peft.StateDict(name).ToDictionary(e => e.Key, e => e.Tensor.PullHost()))).ToList();

    public static TorchPeftModel Load(torch.nn.Module model, string directory, string adapterName, bool isTrainable, string? modelType)
    {
        var config = PeftFormat.ReadConfig(directory) with { InferenceMode = !isTrainable };
        var peft = TorchPeftModel.Create(model, config, adapterName, modelType: modelType);
        LoadWeights(peft, directory, adapterName);
        return peft;
    }

    public static void LoadAdapter(TorchPeftModel peft, string directory, string adapterName, bool isTrainable)
    {
        peft.AddAdapter(adapterName, PeftFormat.ReadConfig(directory) with { InferenceMode = !isTrainable });
        LoadWeights(peft, directory, adapterName);
    }

    private static void LoadWeights(TorchPeftModel peft, string directory, string adapter)
    {
        var expected = peft.StateDict(adapter);
        var stored = PeftFormat.ReadWeights(directory, adapter, expected.ToDictionary(e => e.Key, e => e.Tensor.Host.Shape));
        foreach (var (key, tensor) in expected) tensor.Load(stored[key]);
    }
}
