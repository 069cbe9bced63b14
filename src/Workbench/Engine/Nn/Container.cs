namespace Workbench.Engine.Nn;

/// <summary>A module that only groups named children (e.g. Hugging Face's inner "model" / "gpt_neox").</summary>
public sealed class Container : Module
{
    public T Add<T>(string name, T module) where T : Module => AddModule(name, module);
}
