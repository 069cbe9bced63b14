using System.IO.Compression;
using System.Text.Json;
using Workbench.Tests.Support;
using Workbench.Tokenizers;
using Xunit.Abstractions;

namespace Workbench.Tests.Tokenizers;

/// <summary>
/// Id-for-id agreement with the reference libraries on 2,226 texts (NSMC and KoAlpaca Korean, Alpaca
/// English, edge cases): Hugging Face tokenizers for tokenizer.json, sentencepiece for .model files.
/// Fixtures come from tests/fixtures/tokenizers/make_*.{py,js}. Tokenizers that live only in ../shared
/// are skipped (with a note) on a fresh clone.
/// </summary>
public class ReferenceFixtureTests(ITestOutputHelper output)
{
    public static TheoryData<string, string, bool> Cases => new()
    {
        // name, path (data/… committed, shared/… optional), reference decode skips special tokens separately (HF)
        { "gpt-neox-20b", "data/tokenizers/gpt-neox-20b/tokenizer.json", true },
        { "stories260K", "data/tokenizers/stories260K/tokenizer.model", false },
        { "nsmc_unigram", "fixtures/tokenizers/nsmc_unigram.model", false },
        { "llama3", "shared/tokenizers/llama3", true },
        { "qwen3", "shared/tokenizers/qwen3", true },
        { "gemma3", "shared/tokenizers/gemma3", true },
        { "mistral", "shared/tokenizers/mistral", true },
        { "llama2", "shared/tokenizers/llama2/tokenizer.model", false },
    };

    static string? Resolve(string path) =>
        path.StartsWith("data/") ? RepoPaths.Data(path["data/".Length..])
        : path.StartsWith("fixtures/") ? Fixtures.PathOf(path["fixtures/".Length..])
        : RepoPaths.Shared(path["shared/".Length..]);

    sealed record Expected(int[] Ids, string? Dec, string? Skip, int[]? Plain);

    static List<string> Lines() =>
        File.ReadLines(Fixtures.PathOf("tokenizers/lines.jsonl")).Select(l => JsonSerializer.Deserialize<string>(l)!).ToList();

    static List<Expected> ExpectedOf(string name)
    {
        using var gz = new GZipStream(File.OpenRead(Fixtures.PathOf($"tokenizers/expected_{name}.jsonl.gz")), CompressionMode.Decompress);
        using var reader = new StreamReader(gz);
        var rows = new List<Expected>();
        for (string? line; (line = reader.ReadLine()) != null;)
        {
            var e = JsonDocument.Parse(line).RootElement;
            int[]? Ints(string p) => e.TryGetProperty(p, out var v) ? v.EnumerateArray().Select(x => x.GetInt32()).ToArray() : null;
            string? Str(string p) => e.TryGetProperty(p, out var v) ? v.GetString() : null;
            rows.Add(new Expected(Ints("ids")!, Str("dec"), Str("skip"), Ints("plain")));
        }
        return rows;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EncodeAndDecodeMatchReference(string name, string path, bool hfDecode)
    {
        string? resolved = Resolve(path);
        if (resolved == null)
        {
            output.WriteLine($"{name}: {path} not found (no ../shared); skipped. Fixture expected_{name}.jsonl.gz is committed.");
            return;
        }
        var tokenizer = Tokenizer.Load(resolved);
        var lines = Lines();
        var expected = ExpectedOf(name);
        Assert.Equal(lines.Count, expected.Count);

        var failures = new List<string>();
        int lossless = 0;
        for (int i = 0; i < lines.Count; i++)
        {
            string text = lines[i];
            var e = expected[i];
            var ids = tokenizer.Encode(text);
            if (!ids.SequenceEqual(e.Ids))
                failures.Add($"line {i} {Show(text)}: ids [{string.Join(",", ids)}], expected [{string.Join(",", e.Ids)}]");
            if (e.Plain != null && !tokenizer.Encode(text, addSpecialTokens: false).SequenceEqual(e.Plain))
                failures.Add($"line {i} {Show(text)}: ids without special tokens differ");
            string dec = tokenizer.Decode(e.Ids);
            if (dec != (e.Dec ?? text)) failures.Add($"line {i}: decode {Show(dec)}, expected {Show(e.Dec ?? text)}");
            if (hfDecode)
            {
                string skip = tokenizer.Decode(e.Ids, skipSpecialTokens: true);
                if (skip != (e.Skip ?? text)) failures.Add($"line {i}: decode skipping specials {Show(skip)}, expected {Show(e.Skip ?? text)}");
                if (e.Skip == null) lossless++;
            }
            else if (tokenizer.Decode(ids) == text) lossless++;
        }
        output.WriteLine($"{name}: {lines.Count} texts, {failures.Count} mismatches; decode(encode(s)) == s for {lossless}");
        Assert.True(failures.Count == 0, $"{name}: {failures.Count} mismatches, first:\n" + string.Join("\n", failures.Take(8)));
    }

    static string Show(string s) => JsonSerializer.Serialize(s.Length > 120 ? s[..120] + "…" : s);
}
