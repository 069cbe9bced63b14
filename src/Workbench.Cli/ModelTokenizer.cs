using Workbench.Tokenizers;

namespace Workbench.Cli;

/// <summary>
/// Where commands get a model directory's tokenizer: <see cref="Tokenizer.Load"/> (tokenizer.json or
/// tokenizer.model in the directory). Tests swap in a stand-in for fixture models that ship no tokenizer.
/// </summary>
public static class ModelTokenizer
{
    public static Func<string, ITokenizer> Load { get; set; } = Tokenizer.Load;
}
