using Workbench.Formats;

namespace Workbench.Models;

/// <summary>A config.json that cannot be used; the message names the file and the field.</summary>
public sealed class ModelConfigException(string file, string? field, string problem)
    : FormatException($"{file}: {JsonFields.Describe(field, problem)}")
{
    public string File { get; } = file;
    public string? Field { get; } = field;
}
