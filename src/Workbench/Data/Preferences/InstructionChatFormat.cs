namespace Workbench.Data.Preferences;

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
