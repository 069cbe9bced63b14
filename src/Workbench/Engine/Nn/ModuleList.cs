namespace Workbench.Engine.Nn;

/// <summary>Children named "0", "1", … (torch.nn.ModuleList), e.g. a model's transformer layers.</summary>
public sealed class ModuleList<T> : Module where T : Module
{
    private int count;

    public int Count => count;
    public T this[int index] => Child<T>(index.ToString());

    public void Add(T module) => AddModule((count++).ToString(), module);
}
