using Workbench.Engine;

namespace Workbench.Formats;

/// <summary>One file of a checkpoint, whatever its format (safetensors, or torch.save's pytorch_model.bin): its tensors' names, dtypes and shapes, and each tensor on demand.</summary>
public interface ITensorFile : IDisposable
{
    string Path { get; }
    IReadOnlyList<SafeTensorsEntry> Entries { get; }
    bool Contains(string name);
    Tensor Load(string name);
}
