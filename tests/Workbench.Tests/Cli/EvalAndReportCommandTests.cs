using Workbench.Models;
using Workbench.Adapters.Lora;
using Workbench.Adapters;
using System.Text.Json.Nodes;
using Workbench.Cli;
using Workbench.Tests.Support;

namespace Workbench.Tests.Cli;

[Collection("Console")]
public class EvalAndReportCommandTests
{
    private static (int Code, string Out, string Err) Wb(params string[] args) => WbCli.Run(args);

    static readonly string Model = RepoPaths.Data("models/stories260K");

    [Fact]
    public void EvalFewShotPrintsJsonAndWritesTheRunFile()
    {
        using var run = new TempDir();
        var (code, stdout, stderr) = Wb("eval", "fewshot", Model, "--task", RepoPaths.Data("tasks/nsmc.json"), "--prompt", "2", "--shots", "2",
            "--samples", "3", "--seed", "7", "--scoring", "loglik", "--json", "--out", run.Path);
        Assert.True(code == 0, stderr);
        var json = JsonNode.Parse(stdout)!.AsObject();
        Assert.Equal("nsmc", json["task"]!.GetValue<string>());
        Assert.Equal("prompt2", json["prompt"]!.GetValue<string>());
        Assert.Equal("loglik", json["scoring"]!.GetValue<string>());
        Assert.Equal(2, json["shots"]!.GetValue<int>());
        Assert.Equal(3, json["samples"]!.GetValue<int>());
        Assert.Equal(0, json["invalid"]!.GetValue<int>());
        double accuracy = json["accuracy"]!.GetValue<double>();
        Assert.Contains(accuracy, new[] { 0, 1 / 3.0, 2 / 3.0, 1 });
        var ci = json["ci95"]!.AsArray();
        Assert.True(ci[0]!.GetValue<double>() <= accuracy && accuracy <= ci[1]!.GetValue<double>());
        Assert.Contains("\"긍정\"", stdout);   // verbalisers unescaped
        foreach (var key in new[] { "confusion", "mean_latency_ms", "tokens_per_second", "wall_seconds" }) Assert.True(json.ContainsKey(key), key);

        var saved = JsonNode.Parse(File.ReadAllText(run.File("eval_nsmc_p2.json")))!.AsObject();
        Assert.Equal(accuracy, saved["accuracy"]!.GetValue<double>());
        Assert.Equal(3, saved["items"]!.AsArray().Count);
        Assert.Equal(2, saved["items"]![0]!["loglik"]!.AsArray().Count);
        Assert.False(saved.ContainsKey("adapter"));
    }

    [Fact]
    public void EvalWithAnAdapterRecordsIt()
    {
        using var dir = new TempDir();
        var adapter = dir.File("adapter");
        PeftModel.Create(CausalLM.Load(Model), new LoraConfig { R = 4 }).Save(adapter);
        var (code, stdout, stderr) = Wb("eval", "fewshot", Model, "--adapter", adapter, "--task", RepoPaths.Data("tasks/nsmc.json"), "--shots", "1",
            "--samples", "2", "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal(Path.GetFullPath(adapter), JsonNode.Parse(stdout)!["adapter"]!.GetValue<string>());
    }

    [Fact]
    public void EvalFindsTheNamedTaskAndRejectsBadInput()
    {
        var (code, stdout, stderr) = Wb("eval", "fewshot", Model, "--task", "nsmc", "--shots", "1", "--samples", "2");
        Assert.True(code == 0, stderr);
        Assert.StartsWith("nsmc prompt1 generate: accuracy", stdout);
        Assert.Contains("| gold \\\\ predicted | 긍정 | 부정 | invalid |", stdout);

        Assert.Equal(2, Wb("eval", "fewshot", Model, "--adapter", "some/adapter").Code);
        Assert.Contains("no such adapter folder", Wb("eval", "fewshot", Model, "--adapter", "some/adapter").Err);
        Assert.Contains("no prompt 'prompt9'", Wb("eval", "fewshot", Model, "--prompt", "9").Err);
        Assert.Contains("no data/tasks/nope.json", Wb("eval", "fewshot", Model, "--task", "nope").Err);
        Assert.Contains("--train and --test: give both or neither", Wb("eval", "fewshot", Model, "--train", "x.txt").Err);
        Assert.NotEqual(0, Wb("eval", "fewshot", Model, "--scoring", "best").Code);
    }

    [Fact]
    public void ReportRebuildsChartsAndTablesFromARunFolder()
    {
        using var run = new TempDir();
        File.WriteAllLines(run.File("train_log.jsonl"), Enumerable.Range(1, 5).Select(s =>
            $"{{\"step\": {s}, \"loss\": {4.0 / s}, \"lr\": {s * 1e-4}, \"grad_norm\": {1.5 - s * 0.1}}}").Append(""));
        File.WriteAllText(run.File("train_summary.json"), """{"method": "lora", "steps": 5, "final_loss": 0.8, "trainable": {"params": 1024}}""");
        File.WriteAllText(run.File("eval_nsmc_p1.json"), """{"task":"nsmc","prompt":"prompt1","scoring":"generate","shots":10,"samples":500,"accuracy":0.75,"ci95":[0.71,0.79],"invalid":3,"truncated":0,"mean_latency_ms":12.5,"tokens_per_second":9000,"wall_seconds":6.25}""");
        File.WriteAllText(run.File("eval_nsmc_p2.json"), """{"task":"nsmc","prompt":"prompt2","scoring":"generate","shots":10,"samples":500,"accuracy":0.5,"ci95":[0.456,0.544],"invalid":0}""");

        var (code, stdout, stderr) = Wb("report", run.Path, "--html", run.File("out.html"), "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal(run.File("out.html"), System.Text.Json.Nodes.JsonNode.Parse(stdout)!["html"]!.GetValue<string>());
        string html = File.ReadAllText(run.File("out.html"));
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains("<meta name=\"generator\" content=\"Workbench wb report\">", html);
        Assert.Contains("Plotly.newPlot", html);
        Assert.DoesNotContain("cdn.jsdelivr.net/npm/plotly.js-dist-min@4.1.2/plotly.min.js\"", html[..html.IndexOf("</head>")]); // plotly inline, not loaded
        Assert.Contains("\"y\":[4,2,1.3333333333333333,1,0.8]", html);                 // loss against step
        Assert.Contains("\"text\":\"Learning rate\"", html);
        Assert.Contains("\"text\":\"grad_norm\"", html);
        Assert.Contains("\"x\":[\"nsmc prompt1 generate\",\"nsmc prompt2 generate\"],\"y\":[0.75,0.5]", html);
        Assert.Contains("\"arrayminus\":[0.040000000000000036,0.043999999999999984]", html);
        Assert.Contains("<td>final_loss</td><td style=\"text-align:right\">0.8</td>", html);
        Assert.Contains("<td>trainable</td><td>{&quot;params&quot;:1024}</td>", html);
        Assert.Contains("<td>eval_nsmc_p1.json</td>", html);
    }

    [Fact]
    public void ReportNamesWhatIsMissingOrBroken()
    {
        using var run = new TempDir();
        Assert.Contains("nothing to report", Wb("report", run.Path).Err);
        File.WriteAllText(run.File("train_log.jsonl"), "{\"step\": 1, \"loss\": 2}\n{oops\n");
        var (code, _, err) = Wb("report", run.Path);
        Assert.Equal(2, code);
        Assert.Contains("train_log.jsonl:2: malformed JSON", err);
    }
}
