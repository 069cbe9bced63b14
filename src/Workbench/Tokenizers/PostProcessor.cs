using System.Text.Json;

namespace Workbench.Tokenizers;

/// <summary>
/// The special ids put around an encoded sequence (tokenizer.json's <c>post_processor</c>):
/// TemplateProcessing's single template, Roberta/Bert's cls … sep; ByteLevel adds none.
/// </summary>
public sealed class PostProcessor
{
    readonly int[] before, after;

    public PostProcessor(int[] before, int[] after) { this.before = before; this.after = after; }

    public static readonly PostProcessor None = new([], []);

    public IReadOnlyList<int> Before => before;
    public IReadOnlyList<int> After => after;

    public int[] Apply(List<int> ids)
    {
        var result = new int[before.Length + ids.Count + after.Length];
        before.CopyTo(result, 0);
        ids.CopyTo(result, before.Length);
        after.CopyTo(result, before.Length + ids.Count);
        return result;
    }

    public static PostProcessor FromJson(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Null) return None;
        string type = e.GetProperty("type").GetString()!;
        switch (type)
        {
            case "ByteLevel":
                return None;
            case "RobertaProcessing":
            case "BertProcessing":
                return new PostProcessor([e.GetProperty("cls")[1].GetInt32()], [e.GetProperty("sep")[1].GetInt32()]);
            case "TemplateProcessing":
                var specials = e.GetProperty("special_tokens");
                List<int> head = [], tail = [];
                bool seenSequence = false;
                foreach (var item in e.GetProperty("single").EnumerateArray())
                {
                    if (item.TryGetProperty("Sequence", out _)) { seenSequence = true; continue; }
                    string name = item.GetProperty("SpecialToken").GetProperty("id").GetString()!;
                    var ids = specials.GetProperty(name).GetProperty("ids").EnumerateArray().Select(x => x.GetInt32());
                    (seenSequence ? tail : head).AddRange(ids);
                }
                return new PostProcessor(head.ToArray(), tail.ToArray());
            case "Sequence":
                var steps = e.GetProperty("processors").EnumerateArray().Select(FromJson).ToList();
                return new PostProcessor(steps.SelectMany(s => s.before).ToArray(), steps.SelectMany(s => s.after).ToArray());
            default:
                throw new NotSupportedException($"tokenizer.json: post-processor type '{type}' is not supported");
        }
    }
}
