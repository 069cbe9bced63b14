using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Torch.Layers;

/// <summary>
/// Our modules' common base: children and parameters live in TorchSharp's registry under Hugging Face's names and are
/// looked up by name when used, so an adapter or a 4-bit layer put in their place is what runs.
/// </summary>
public abstract class TorchModule : nn.Module, ITorchParameterOwner
{
    protected TorchModule(string name) : base(name) { }

    protected T Add<T>(string name, T module) where T : nn.Module
    {
        register_module(name, module);
        return module;
    }

    protected Tensor Param(string name) => get_parameter(name) ?? throw new KeyNotFoundException($"{GetName()}: no parameter '{name}'");

    public void ReplaceParameter(string name, Parameter value)
    {
        _internal_params.Remove(name);
        register_parameter(name, value);
    }
}

/// <summary>A module that only groups children (Hugging Face's "model", "layers").</summary>
public sealed class TorchContainer() : TorchModule("Container")
{
    public new T Add<T>(string name, T module) where T : nn.Module => base.Add(name, module);
}

/// <summary>A layer x → y whose children and parameters are looked up by name, like <see cref="TorchModule"/>.</summary>
public abstract class TorchLayer : nn.Module<Tensor, Tensor>, ITorchParameterOwner
{
    protected TorchLayer(string name) : base(name) { }

    protected T Add<T>(string name, T module) where T : nn.Module
    {
        register_module(name, module);
        return module;
    }

    protected Tensor Param(string name) => get_parameter(name) ?? throw new KeyNotFoundException($"{GetName()}: no parameter '{name}'");

    protected Tensor? OptionalParam(string name) => get_parameter(name);

    public void ReplaceParameter(string name, Parameter value)
    {
        _internal_params.Remove(name);
        register_parameter(name, value);
    }
}
