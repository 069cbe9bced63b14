namespace Workbench.Formats.Pickle;

/// <summary>A global the restricted reader allows (GLOBAL / STACK_GLOBAL <c>module.name</c>).</summary>
public sealed record PickleGlobal(string Module, string Name)
{
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>A dict or OrderedDict in insertion order (keys are strings or integers in a state dict).</summary>
public sealed class PickleDict : List<KeyValuePair<object, object?>>;

/// <summary>torch.save's persistent id <c>('storage', torch.FloatStorage, key, location, numel)</c>.</summary>
public sealed record TorchStorage(string DType, string Key, long Numel);

/// <summary><c>torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, ...)</c>, not yet read.</summary>
public sealed record TorchTensor(TorchStorage Storage, long Offset, int[] Shape, long[] Stride);
