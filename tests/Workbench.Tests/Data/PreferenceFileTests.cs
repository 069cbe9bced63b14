using System.Text;
using Workbench.Data;
using Workbench.Data.Preferences;
using Workbench.Tests.Support;

namespace Workbench.Tests.Data;

/// <summary>TRL's four preference forms, their rendering and validation, and TRL 0.28.0's length rules.</summary>
public class PreferenceFileTests
{
    private static readonly IChatFormat KoAlpaca = new InstructionChatFormat(PromptTemplates.KoAlpaca);

    private static List<PreferencePair> Load(string content, List<string>? warnings = null)
    {
        using var file = new TempFile(content);
        return PreferenceFile.Load(file.Path, KoAlpaca, warnings);
    }

    private static DataFormatException Bad(byte[] content)
    {
        using var file = new TempFile("");
        File.WriteAllBytes(file.Path, content);
        var e = Assert.Throws<DataFormatException>(() => PreferenceFile.Load(file.Path, KoAlpaca));
        Assert.StartsWith(file.Path + ":", e.Message);
        return e;
    }

    private static DataFormatException Bad(string content) => Bad(Encoding.UTF8.GetBytes(content));

    [Fact]
    public void ReadsTheStandardAndConversationalFormsWithExplicitOrImplicitPrompts()
    {
        var pairs = Load("""
            {"prompt": "하늘은", "chosen": " 파랗다", "rejected": " 초록이다"}

            {"chosen": "The sky is blue.", "rejected": "The sky is green."}
            {"prompt": [{"role": "user", "content": "양파는?"}], "chosen": [{"role": "assistant", "content": "줄기"}], "rejected": [{"role": "assistant", "content": "뿌리"}]}
            {"chosen": [{"role": "user", "content": "양파는?"}, {"role": "assistant", "content": "줄기"}], "rejected": [{"role": "user", "content": "양파는?"}, {"role": "assistant", "content": "잎"}]}
            """);
        Assert.Equal(new PreferencePair("하늘은", " 파랗다", " 초록이다", pairs[0].Source, 1), pairs[0]);
        Assert.Equal(("The sky is", " blue.", " green.", 3), (pairs[1].Prompt, pairs[1].Chosen, pairs[1].Rejected, pairs[1].Line));   // TRL's extract_prompt keeps the space with the answers
        Assert.Equal(("### 질문: 양파는?\n\n### 답변:", " 줄기", " 뿌리", true), (pairs[2].Prompt, pairs[2].Chosen, pairs[2].Rejected, pairs[2].AppendEos));
        Assert.Equal(("### 질문: 양파는?\n\n### 답변:", " 줄기", " 잎"), (pairs[3].Prompt, pairs[3].Chosen, pairs[3].Rejected));
    }

    [Fact]
    public void ConversationsUseTheModelsChatTemplateAsTrlDoes()
    {
        var qwen3 = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Fixtures.PathOf("chat/templates.json"))).RootElement
            .GetProperty("templates").GetProperty("qwen3").GetProperty("template").GetString()!;
        using var file = new TempFile("""
            {"prompt": [{"role": "user", "content": "양파는?"}], "chosen": [{"role": "assistant", "content": "줄기"}], "rejected": [{"role": "assistant", "content": "뿌리"}]}
            """);
        var pair = Assert.Single(PreferenceFile.Load(file.Path, new TemplateChatFormat(new Workbench.Tokenizers.Chat.ChatTemplate(qwen3), null, "<|im_end|>")));
        // the prompt with the generation prompt; each completion is the rest of prompt + answer, the template's end of turn included
        Assert.Equal("<|im_start|>user\n양파는?<|im_end|>\n<|im_start|>assistant\n", pair.Prompt);
        Assert.Equal("<think>\n\n</think>\n\n줄기<|im_end|>\n", pair.Chosen);
        Assert.False(pair.AppendEos);
    }

    [Fact]
    public void JsonArraysNameTheLineEachRecordStartsOn()
    {
        var e = Bad("[\n  {\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"},\n  {\"prompt\": \"a\",\n   \"rejected\": \"c\"}\n]");
        Assert.EndsWith(":3: missing required field 'chosen'", e.Message);
    }

    [Theory]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n{\"prompt\": \"p\", \"rejected\": \"b\"}", 2, "missing required field 'chosen'")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"  \", \"rejected\": \"b\"}", 1, "empty chosen completion")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": 3}", 1, "field 'rejected' must be a string, found Number")]
    [InlineData("{\"prompt\": [{\"role\": \"user\", \"content\": \"q\"}], \"chosen\": [{\"role\": \"assistant\"}], \"rejected\": []}", 1, "'chosen' message 1 must be an object with string 'role' and 'content'")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"a\"", 1, "malformed JSON")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"a\"}\n{\"prompt\": \"q\", \"chosen\": \"b\", \"rejected\": \"b\"}", 1, "chosen equals rejected in every record (2)")]
    public void BadRecordsNameTheFileAndLine(string content, int line, string problem)
    {
        var e = Bad(content);
        Assert.Contains($":{line}: {problem}", e.Message);
    }

    [Fact]
    public void BytesThatAreNotUtf8NameTheirLine()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n{\"prompt\": \"").Concat(new byte[] { 0xC7, 0xD1, 0xB1, 0xDB })   // EUC-KR 한글
            .Concat(Encoding.UTF8.GetBytes("\", \"chosen\": \"a\", \"rejected\": \"b\"}\n")).ToArray();
        Assert.Contains(":2: not UTF-8: byte 0xC7", Bad(bytes).Message);
    }

    [Fact]
    public void IdenticalPairsAreDroppedWithAWarning()
    {
        var warnings = new List<string>();
        var pairs = Load("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"a\"}\n{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}", warnings);
        Assert.Single(pairs);
        Assert.EndsWith(":1: chosen and rejected are identical; pair dropped", Assert.Single(warnings));
    }

    [Fact]
    public void EncodingFollowsTrlsTruncationRules()
    {
        var tok = new CharTokenizer();   // one id per character (3 + code mod 61), EOS 2, BOS 1
        var pair = new PreferencePair("abcdef", "xy", "z", "f", 1);
        var full = PreferenceEncoder.Encode(tok, pair, new PreferenceEncodeOptions(100, MaxPromptLength: null));
        Assert.Equal(tok.Encode("abcdefxy", addSpecialTokens: false).Append(2), full.Chosen.InputIds);   // no BOS; EOS after the completion
        Assert.Equal([-100, -100, -100, -100, -100, -100, .. tok.Encode("xy", false), 2], full.Chosen.Labels);

        var prompt = PreferenceEncoder.Encode(tok, pair, new PreferenceEncodeOptions(100, MaxPromptLength: 2));      // the prompt keeps its end
        Assert.Equal(tok.Encode("efz", false).Append(2), prompt.Rejected.InputIds);
        var keepEnd = PreferenceEncoder.Encode(tok, pair, new PreferenceEncodeOptions(4, MaxPromptLength: null));    // TRL's default keep_end
        Assert.Equal(tok.Encode("fxy", false).Append(2), keepEnd.Chosen.InputIds);
        Assert.Equal([-100, .. tok.Encode("xy", false), 2], keepEnd.Chosen.Labels);
        var keepStart = PreferenceEncoder.Encode(tok, pair, new PreferenceEncodeOptions(7, null, MaxCompletionLength: 1, Truncation: TruncationMode.KeepStart));
        Assert.Equal(tok.Encode("abcdefx", false), keepStart.Chosen.InputIds);                                      // completion cut to 1, EOS gone with it

        var chat = PreferenceEncoder.Encode(tok, pair with { AppendEos = false }, new PreferenceEncodeOptions(100));
        Assert.Equal(tok.Encode("abcdefxy", false), chat.Chosen.InputIds);                                          // a chat template ends its own turns
    }

    [Fact]
    public void WrittenPairsReadBackAsTheStandardForm()
    {
        using var dir = new TempDir();
        var pairs = new List<PreferencePair> { new("문장: 좋다\n감정:", " 긍정", "///", "x", 1), new("q \"quoted\"", " a", " b", "x", 2) };
        PreferenceFile.Write(dir.File("p.jsonl"), pairs);
        Assert.Contains("문장", File.ReadAllText(dir.File("p.jsonl")));   // Hangul written as is, not escaped
        var back = PreferenceFile.Load(dir.File("p.jsonl"), KoAlpaca);
        Assert.Equal(pairs.Select(p => (p.Prompt, p.Chosen, p.Rejected)), back.Select(p => (p.Prompt, p.Chosen, p.Rejected)));
    }
}
