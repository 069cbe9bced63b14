namespace Workbench.Engine.Nn;

/// <summary>Parameters keyed by name (torch.nn.ParameterDict), e.g. one IA3 vector per adapter name.</summary>
public sealed class ParameterDict : Module
{
    private readonly List<string> names = [];

    public IReadOnlyList<string> Keys => names;
    public Tensor this[string name] => Parameter(name);
    public bool Contains(string name) => names.Contains(name);

    public void Add(string name, Tensor tensor)
    {
        if (names.Contains(name)) throw new ArgumentException($"'{name}' is already present");
        names.Add(name);
        AddParameter(name, tensor);
    }
}
