using System.Text;
using System.Text.Json;
using Workbench.Data.Preferences;
using Workbench.Data;
using Workbench.Tests.Support;

namespace Workbench.Tests.Cli;

[Collection("Console")]
public class PrefsCommandTests
{
    public static TheoryData<string, byte[], string> BadFiles() => new()
    {
        { "missing field", Encoding.UTF8.GetBytes("{\"prompt\": \"p\", \"chosen\": \" a\", \"rejected\": \" b\"}\n{\"prompt\": \"p\", \"chosen\": \" a\"}\n"), ":2: missing required field 'rejected'" },
        { "empty chosen", Encoding.UTF8.GetBytes("{\"prompt\": \"p\", \"chosen\": \"\", \"rejected\": \" b\"}\n"), ":1: empty chosen completion" },
        { "chosen == rejected", Encoding.UTF8.GetBytes("{\"prompt\": \"p\", \"chosen\": \" a\", \"rejected\": \" a\"}\n{\"prompt\": \"q\", \"chosen\": \" b\", \"rejected\": \" b\"}\n"), ":1: chosen equals rejected in every record (2)" },
        { "not UTF-8", [.. Encoding.UTF8.GetBytes("{\"prompt\": \"p\", \"chosen\": \" a\", \"rejected\": \" b\"}\n\n{\"prompt\": \""), 0xB0, 0xA1, .. Encoding.UTF8.GetBytes("\", \"chosen\": \" a\", \"rejected\": \" b\"}\n")], ":3: not UTF-8" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void TrainExitsTwoNamingTheFileAndLineOfABadPreferenceFile(string what, byte[] content, string expected)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("pairs.jsonl"), content);
        var (code, _, stderr) = WbCli.Run("train", "--method", "dpo", "--base-model", RepoPaths.Data("models/stories260K"),
            "--data", dir.File("pairs.jsonl"), "--output-dir", dir.File("out"));
        Assert.True(code == 2, $"{what}: exit {code}, {stderr}");
        Assert.Contains(dir.File("pairs.jsonl") + expected, stderr);
    }

    [Fact]
    public void BuildWritesPairsFromSftDataAndEvalScoresThem()
    {
        using var dir = new TempDir();
        File.WriteAllLines(dir.File("sft.jsonl"), File.ReadLines(RepoPaths.Data("nsmc/nsmc_sft.jsonl")).Take(6)
            .Concat(File.ReadLines(RepoPaths.Data("nsmc/nsmc_sft.jsonl")).Take(1)));   // the first record again: a near-duplicate
        var (code, stdout, stderr) = WbCli.Run("prefs", "build", "--sft", dir.File("sft.jsonl"), "--model", RepoPaths.Data("models/ko-tiny"),
            "--template", "{instruction}{|} {output}", "--max-new-tokens", "6", "--out", dir.File("pairs.jsonl"), "--json");
        Assert.True(code == 0, stderr);
        var counts = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(7, counts.GetProperty("records").GetInt32());
        Assert.Equal(1, counts.GetProperty("near_duplicates").GetInt32());
        int pairs = counts.GetProperty("pairs").GetInt32();
        Assert.Equal(6, pairs + counts.GetProperty("identical").GetInt32() + counts.GetProperty("empty_answers").GetInt32());
        var written = PreferenceFile.Load(dir.File("pairs.jsonl"), new InstructionChatFormat(PromptTemplates.Alpaca));
        Assert.Equal(pairs, written.Count);
        Assert.All(written, p => Assert.Contains(p.Chosen, new[] { " 긍정", " 부정" }));

        (code, stdout, stderr) = WbCli.Run("prefs", "eval", RepoPaths.Data("models/ko-tiny"), "--pairs", dir.File("pairs.jsonl"), "--method", "orpo", "--json");
        Assert.True(code == 0, stderr);
        var eval = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(pairs, eval.GetProperty("pairs").GetInt32());
        Assert.InRange(eval.GetProperty("eval_rewards/accuracies").GetDouble(), 0, 1);
        Assert.True(eval.TryGetProperty("eval_log_odds_ratio", out _));
    }
}
