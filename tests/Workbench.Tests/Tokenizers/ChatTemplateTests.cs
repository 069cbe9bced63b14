using System.Text.Json;
using Workbench.Tests.Support;
using Workbench.Tokenizers.Chat;

namespace Workbench.Tests.Tokenizers;

/// <summary>
/// Chat templates rendered as transformers' apply_chat_template renders them (jinja2, trim_blocks, lstrip_blocks):
/// the Llama-3, Gemma-3 and Qwen3 templates and one exercising the rest of the subset, against
/// tests/fixtures/make_chat_templates.py, character for character.
/// </summary>
public class ChatTemplateTests
{
    private static readonly JsonElement Root = JsonDocument.Parse(File.ReadAllText(Fixtures.PathOf("chat/templates.json"))).RootElement;

    public static TheoryData<int> Cases() => [.. Enumerable.Range(0, Root.GetProperty("cases").GetArrayLength())];

    [Theory]
    [MemberData(nameof(Cases))]
    public void RendersLikeJinja2(int index)
    {
        var c = Root.GetProperty("cases")[index];
        var t = Root.GetProperty("templates").GetProperty(c.GetProperty("template").GetString()!);
        var messages = Root.GetProperty("conversations").GetProperty(c.GetProperty("conversation").GetString()!).EnumerateArray()
            .Select(m => (m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!)).ToList();
        var rendered = new ChatTemplate(t.GetProperty("template").GetString()!)
            .Render(messages, c.GetProperty("add_generation_prompt").GetBoolean(), t.GetProperty("bos_token").GetString(), t.GetProperty("eos_token").GetString());
        Assert.Equal(c.GetProperty("expected").GetString(), rendered);
    }

    [Fact]
    public void ErrorsNameTheTemplateLine()
    {
        var e = Assert.Throws<ChatTemplateException>(() => new ChatTemplate("a\n{% if x %}\nb\n{% endfor %}"));
        Assert.Equal("chat template line 2: {% if %} without {% endif %}", e.Message);
        var gemma = Root.GetProperty("templates").GetProperty("gemma3");
        var raised = Assert.Throws<ChatTemplateException>(() => new ChatTemplate(gemma.GetProperty("template").GetString()!)
            .Render([("assistant", "hi")], false));
        Assert.Contains("raise_exception: Conversation roles must alternate", raised.Message);
    }
}
