using Workbench.Tokenizers;

namespace Workbench.Cli;

/// <summary>
/// Where commands get a model directory's tokenizer. Seam: <c>Workbench.Tokenizers.Tokenizer.Load(path)</c> comes
/// with the tokenizers branch; when it is merged, the default below becomes <c>Tokenizer.Load</c>. Tests install
/// a stand-in.
/// </summary>
public static class ModelTokenizer
{
    public static Func<string, ITokenizer> Load { get; set; } = directory =>
        throw new NotSupportedException($"{directory}: this build cannot load tokenizers yet (Workbench.Tokenizers.Tokenizer.Load is not merged)");
}
