using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Torch.Layers;

/// <summary>
/// Finding and replacing modules of any TorchSharp module tree by dotted path, as PEFT does with getattr/setattr on an
/// nn.Module. A child is replaced in the parent's registry and in every field of the parent that held it (TorchSharp
/// modules usually keep children in fields too), so the parent's forward calls the replacement.
/// </summary>
public static class ModuleTree
{
    /// <summary>A direct child by name.</summary>
    public static T Child<T>(this nn.Module module, string name) where T : nn.Module
    {
        foreach (var (n, m) in module.named_children())
            if (n == name) return m as T ?? throw new InvalidCastException($"'{name}' is a {m.GetType().Name}, not a {typeof(T).Name}");
        throw new KeyNotFoundException($"{module.GetName()}: no child module '{name}'");
    }

    /// <summary>The module at a dotted path ("model.layers.0.self_attn.q_proj"); "" is the module itself.</summary>
    public static nn.Module Find(this nn.Module root, string path)
    {
        var module = root;
        if (path.Length > 0)
            foreach (var part in path.Split('.')) module = module.Child<nn.Module>(part);
        return module;
    }

    /// <summary>Puts <paramref name="replacement"/> where the module at <paramref name="path"/> is; returns the module replaced.</summary>
    public static nn.Module Replace(this nn.Module root, string path, nn.Module replacement)
    {
        int dot = path.LastIndexOf('.');
        var parent = root.Find(dot < 0 ? "" : path[..dot]);
        var name = path[(dot + 1)..];
        var old = parent.Child<nn.Module>(name);
        foreach (var field in Fields(parent.GetType()).Where(f => ReferenceEquals(f.GetValue(parent), old)))
        {
            if (!field.FieldType.IsInstanceOfType(replacement))
                throw new InvalidOperationException($"'{path}': {parent.GetType().Name}.{field.Name} is declared {field.FieldType.Name}, which cannot hold a {replacement.GetType().Name}; declare it Module<Tensor, Tensor>");
            field.SetValue(parent, replacement);
        }
        parent.register_module(name, null!);           // a null module unregisters the name
        parent.register_module(name, replacement);
        return old;
    }

    /// <summary>Replaces a parameter of a module (a trainable copy for modules_to_save): ours in the registry, TorchSharp's through the property of that name.</summary>
    public static void SetParameter(this nn.Module module, string name, Parameter value)
    {
        if (module is ITorchParameterOwner owner) owner.ReplaceParameter(name, value);
        else if (module.GetType().GetProperty(name, BindingFlags.Public | BindingFlags.Instance) is { CanWrite: true } property) property.SetValue(module, value);
        else throw new InvalidOperationException($"{module.GetType().Name}: cannot replace parameter '{name}'");
    }

    private static IEnumerable<FieldInfo> Fields(Type? type)
    {
        for (; type is not null && type != typeof(nn.Module); type = type.BaseType)
            foreach (var f in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                yield return f;
    }
}

/// <summary>A module of ours that holds its parameters in its registry only (read by name at each forward).</summary>
public interface ITorchParameterOwner
{
    void ReplaceParameter(string name, Parameter value);
}
