using Workbench.Tokenizers.Chat;

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

/// <summary>
/// A conversation in one of our instruction templates, for models without a chat template: every user message with the
/// assistant message after it is one record of the template (<c>instruction</c> = the user's content, <c>output</c> = the
/// assistant's, <c>input</c> empty), exchanges joined by a blank line, a system message first followed by a blank line. With
/// a generation prompt, the last user message is rendered up to the template's split marker. Completions are plain text,
/// so the tokenizer's EOS is appended to them as in fine-tuning.
/// </summary>
public sealed class InstructionChatFormat(PromptTemplate template) : IChatFormat
{
    public bool EndsTurns => false;

    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        var text = new System.Text.StringBuilder();
        string? pendingUser = null;
        void Exchange(string user, string? assistant)
        {
            if (text.Length > 0 && !text.ToString().EndsWith("\n\n")) text.Append("\n\n");
            var fields = new Dictionary<string, string> { ["instruction"] = user, ["input"] = "", ["output"] = assistant ?? "" };
            var pair = template.Apply(new InstructionRecord(fields, "conversation", 0));
            text.Append(assistant is null ? pair.Prompt : pair.Text);
        }
        foreach (var m in messages)
        {
            switch (m.Role)
            {
                case "system": text.Append(m.Content).Append("\n\n"); break;
                case "user":
                    if (pendingUser is not null) Exchange(pendingUser, "");
                    pendingUser = m.Content;
                    break;
                case "assistant":
                    Exchange(pendingUser ?? "", m.Content);
                    pendingUser = null;
                    break;
                default: throw new FormatException($"role '{m.Role}' is not one of system, user, assistant");
            }
        }
        if (pendingUser is not null) Exchange(pendingUser, addGenerationPrompt ? null : "");
        return text.ToString();
    }
}

/// <summary>
/// A model's own chat template (<c>tokenizer_config.json</c>), rendered as transformers does; the template writes its own
/// end-of-turn tokens, so TRL appends no EOS to the completions it cuts from the rendering.
/// </summary>
public sealed class TemplateChatFormat : IChatFormat
{
    private readonly ChatTemplate? template;
    private readonly string? bosToken, eosToken, loadError;

    public TemplateChatFormat(ChatTemplate template, string? bosToken, string? eosToken) =>
        (this.template, this.bosToken, this.eosToken) = (template, bosToken, eosToken);

    /// <summary>A template that could not be read: the error is raised when a conversation needs it, not for text records.</summary>
    private TemplateChatFormat(string loadError) => this.loadError = loadError;

    public bool EndsTurns => true;

    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        if (template is null) throw new FormatException(loadError);
        try { return template.Render(messages.Select(m => (m.Role, m.Content)), addGenerationPrompt, bosToken, eosToken); }
        catch (ChatTemplateException e) { throw new FormatException(e.Message); }
    }

    /// <summary>The chat template beside the tokenizer in <paramref name="modelDirectory"/>, else <paramref name="fallback"/>.</summary>
    public static IChatFormat For(string modelDirectory, IChatFormat fallback)
    {
        try { return ChatTemplate.LoadBeside(modelDirectory) is var (t, bos, eos) ? new TemplateChatFormat(t, bos, eos) : fallback; }
        catch (ChatTemplateException e) { return new TemplateChatFormat(e.Message); }
    }
}
