using System.Text;
using System.Text.Json;

namespace Workbench.Tokenizers.Chat;

/// <summary>
/// A Hugging Face chat template (<c>tokenizer_config.json</c>'s <c>chat_template</c>, Jinja2) rendered as transformers'
/// <c>apply_chat_template(messages, tokenize=False, add_generation_prompt=...)</c> does, for the Jinja subset chat
/// templates use (<see cref="JinjaParser"/>). Values follow Python's rules: truthiness, <c>and</c>/<c>or</c> returning an
/// operand, negative indices and slices, <c>str()</c> of None and booleans; a missing name or key is undefined (renders
/// empty, is false, <c>is defined</c> says no). Templates see <c>messages</c>, <c>add_generation_prompt</c>,
/// <c>bos_token</c>, <c>eos_token</c>, <c>raise_exception</c>, <c>namespace</c> and <c>range</c>.
/// </summary>
public sealed class ChatTemplate
{
    private readonly List<JinjaNode> nodes;

    public string Source { get; }

    public ChatTemplate(string source)
    {
        Source = source;
        nodes = JinjaParser.Parse(source);
    }

    /// <summary>The template beside a tokenizer (<c>tokenizer_config.json</c> in <paramref name="directory"/>) with its BOS and EOS text, or null when there is none.</summary>
    public static (ChatTemplate Template, string? Bos, string? Eos)? LoadBeside(string directory)
    {
        string path = Path.Combine(directory, "tokenizer_config.json");
        if (!File.Exists(path)) return null;
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        if (!root.TryGetProperty("chat_template", out var t)) return null;
        string? source = t.ValueKind == JsonValueKind.String ? t.GetString()
            : t.ValueKind == JsonValueKind.Array ? t.EnumerateArray().Where(e => e.GetProperty("name").GetString() == "default").Select(e => e.GetProperty("template").GetString()).FirstOrDefault()
            : null;
        if (source is null) return null;
        string? Token(string name) => !root.TryGetProperty(name, out var v) ? null
            : v.ValueKind == JsonValueKind.String ? v.GetString() : v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) ? c.GetString() : null;
        try { return (new ChatTemplate(source), Token("bos_token"), Token("eos_token")); }
        catch (ChatTemplateException e) { throw new ChatTemplateException($"{path}: {e.Message}"); }
    }

    /// <summary>Renders <paramref name="messages"/> (role, content) with the template's variables.</summary>
    public string Render(IEnumerable<(string Role, string Content)> messages, bool addGenerationPrompt, string? bosToken = null, string? eosToken = null)
    {
        var globals = new Dictionary<string, object?>
        {
            ["messages"] = messages.Select(m => (object?)new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Content }).ToList(),
            ["add_generation_prompt"] = addGenerationPrompt,
            ["bos_token"] = bosToken ?? "",
            ["eos_token"] = eosToken ?? "",
        };
        var output = new StringBuilder();
        new JinjaRenderer(globals, output).Run(nodes);
        return output.ToString();
    }
}
