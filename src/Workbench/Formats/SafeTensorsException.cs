namespace Workbench.Formats;

/// <summary>A malformed or unreadable safetensors file; the message names the file and, where one is involved, the tensor.</summary>
public sealed class SafeTensorsException(string file, string? tensor, string problem)
    : FormatException(tensor is null ? $"{file}: {problem}" : $"{file}: tensor '{tensor}': {problem}")
{
    public string File { get; } = file;
    public string? Tensor { get; } = tensor;
}
