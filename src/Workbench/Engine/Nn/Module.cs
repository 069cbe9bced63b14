namespace Workbench.Engine.Nn;

/// <summary>
/// A named tree of parameters and sub-modules, like torch.nn.Module. Names compose with dots into the
/// Hugging Face state-dict keys ("model.layers.0.self_attn.q_proj.weight"), which adapters and file formats
/// rely on. Children are looked up by name, so replacing one (adapter injection) needs no field updates.
/// </summary>
public abstract class Module
{
    private readonly List<(string Name, Module Module)> children = [];
    private readonly List<(string Name, Tensor? Tensor)> parameters = [];

    protected T AddModule<T>(string name, T module) where T : Module
    {
        children.Add((name, module));
        return module;
    }

    protected Tensor AddParameter(string name, Tensor tensor)
    {
        parameters.Add((name, tensor));
        return tensor;
    }

    /// <summary>The direct child called <paramref name="name"/>, cast to the type the caller needs.</summary>
    public T Child<T>(string name) where T : Module
    {
        foreach (var (n, m) in children)
            if (n == name) return m as T ?? throw new InvalidCastException($"module '{name}' is a {m.GetType().Name}, not a {typeof(T).Name}");
        throw new KeyNotFoundException($"{GetType().Name} has no child module '{name}'");
    }

    public Tensor Parameter(string name)
    {
        foreach (var (n, t) in parameters)
            if (n == name) return t ?? throw new InvalidOperationException($"parameter '{name}' is not set");
        throw new KeyNotFoundException($"{GetType().Name} has no parameter '{name}'");
    }

    /// <summary>Replaces a parameter's tensor (loading weights); the shape must match.</summary>
    public void SetParameter(string name, Tensor value)
    {
        for (int i = 0; i < parameters.Count; i++)
        {
            if (parameters[i].Name != name) continue;
            var old = parameters[i].Tensor;
            if (old is not null && !old.Shape.SequenceEqual(value.Shape))
                throw new ShapeException("SetParameter", $"'{name}' expects {Shape.Format(old.Shape)}, got {Shape.Format(value.Shape)}");
            parameters[i] = (name, value);
            return;
        }
        throw new KeyNotFoundException($"{GetType().Name} has no parameter '{name}'");
    }

    public IEnumerable<(string Name, Module Module)> NamedChildren() => children;

    /// <summary>Every module below (and including) this one, depth first, with dotted paths.</summary>
    public IEnumerable<(string Path, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in children)
            foreach (var item in child.NamedModules(Join(prefix, name)))
                yield return item;
    }

    /// <summary>Every parameter below this module with its dotted state-dict key.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedParameters(string prefix = "")
    {
        foreach (var (name, t) in parameters)
            if (t is not null) yield return (Join(prefix, name), t);
        foreach (var (name, child) in children)
            foreach (var item in child.NamedParameters(Join(prefix, name)))
                yield return item;
    }

    public IEnumerable<Tensor> TrainableParameters() => NamedParameters().Select(p => p.Tensor).Where(t => t.RequiresGrad);

    /// <summary>Swaps the module at a dotted path (e.g. "model.layers.0.self_attn.q_proj") for another.</summary>
    public void ReplaceModule(string path, Module replacement)
    {
        int dot = path.LastIndexOf('.');
        var parent = dot < 0 ? this : Find(path[..dot]);
        var name = path[(dot + 1)..];
        for (int i = 0; i < parent.children.Count; i++)
            if (parent.children[i].Name == name) { parent.children[i] = (name, replacement); return; }
        throw new KeyNotFoundException($"no module at '{path}'");
    }

    public Module Find(string path)
    {
        var m = this;
        if (path.Length == 0) return m;
        foreach (var part in path.Split('.')) m = m.Child<Module>(part);
        return m;
    }

    /// <summary>Marks every parameter below this module as frozen (no gradient).</summary>
    public void Freeze()
    {
        foreach (var (_, t) in NamedParameters()) if (t.IsLeaf) t.RequiresGrad = false;
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;
}

/// <summary>A module with one input and one output (linear layers and their adapter or quantised variants).</summary>
public abstract class Layer : Module
{
    public abstract Tensor Forward(Tensor x);
}

/// <summary>A layer mapping [..., in] to [..., out]: plain, quantised or adapted linear layers.</summary>
public abstract class LinearLayer : Layer
{
    public abstract int InFeatures { get; }
    public abstract int OutFeatures { get; }
}
