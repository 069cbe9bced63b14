namespace Workbench.Data;

/// <summary>
/// A rendered training text split into the prompt (context, masked when training on completions only) and the
/// completion (the target). <c>Prompt + Completion</c> is the full training text.
/// </summary>
public sealed record PromptPair(string Prompt, string Completion)
{
    public string Text => Prompt + Completion;
}
