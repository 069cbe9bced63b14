using Workbench.Tokenizers.Chat;

namespace Workbench.Data.Preferences;

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
