namespace Workbench.Engine.Nn;

/// <summary>Children keyed by name (torch.nn.ModuleDict), e.g. one LoRA matrix per adapter name.</summary>
public sealed class ModuleDict<T> : Module where T : Module
{
    private readonly List<string> names = [];

    public IReadOnlyList<string> Keys => names;
    public T this[string name] => Child<T>(name);
    public bool Contains(string name) => names.Contains(name);

    public void Add(string name, T module)
    {
        if (names.Contains(name)) throw new ArgumentException($"'{name}' is already present");
        names.Add(name);
        AddModule(name, module);
    }
}
