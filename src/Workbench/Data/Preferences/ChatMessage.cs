namespace Workbench.Data.Preferences;

/// <summary>One message of a conversational record, TRL's <c>{"role": ..., "content": ...}</c>.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>
/// Renders a conversation to text the way <c>tokenizer.apply_chat_template(messages, tokenize=False,
/// add_generation_prompt=...)</c> does; <see cref="InstructionChatFormat"/> is the one for models without a chat template.
/// </summary>
public interface IChatFormat
{
    string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt);

    /// <summary>Whether the rendering ends each turn itself (a chat template), so no EOS is appended to completions.</summary>
    bool EndsTurns { get; }
}
