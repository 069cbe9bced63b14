using Workbench.Backends;
using Workbench.Models;
using Workbench.Tokenizers;

namespace Workbench.Cli.Commands;

/// <summary>Opening a model directory for a command on the chosen backend: errors become a message on stderr and exit code 2.</summary>
internal static class ModelLoading
{
    /// <summary>The model (and its tokenizer when asked), or the exit code after printing why not.</summary>
    public static bool TryLoad(string directory, BackendChoice backend, bool withTokenizer, out ICausalLM model, out ITokenizer? tokenizer, out int exitCode)
    {
        (model, tokenizer, exitCode) = (null!, null, 0);
        if (!Directory.Exists(directory)) { exitCode = CliOutput.Fail($"{directory}: no such model directory"); return false; }
        try
        {
            model = backend.Get().Load(directory, new InferenceSetup { Device = backend.Device });
            if (withTokenizer)
            {
                tokenizer = ModelTokenizer.Load(directory);
                model.Config.CheckTokenizer(tokenizer.VocabSize, directory);
            }
            return true;
        }
        catch (Exception e) when (BackendChoice.IsUserError(e))
        {
            exitCode = CliOutput.Fail(e.Message);
            return false;
        }
    }
}
