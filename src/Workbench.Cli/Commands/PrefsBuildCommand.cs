using System.CommandLine;
using System.Text.Json.Nodes;
using Workbench.Backends;
using Workbench.Data;
using Workbench.Data.Preferences;
using Workbench.Training.Preference;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb prefs build --sft FILE --model DIR [--adapter DIR] --out FILE [--template T] [--sample] [--dedup-threshold 0.8] [--json]</c>:
/// preference pairs from instruction data (<see cref="PreferenceBuilder"/>): the dataset's answer is chosen, the model's
/// own answer rejected; prompts near-deduplicated by MinHash; identical answers skipped. Writes TRL's standard JSONL
/// (prompt, chosen, rejected). Progress on stderr; the counts on stdout. Exit 2 on bad input.
/// </summary>
public static class PrefsBuildCommand
{
    public static Command Build()
    {
        var sft = new Option<string>("--sft") { Description = "Instruction data (JSON array or JSONL)", Required = true };
        var model = new Option<string>("--model") { Description = "Model directory whose answers become the rejected completions", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "PEFT adapter applied to the model (e.g. the SFT adapter)" };
        var output = new Option<string>("--out") { Description = "Preference JSONL to write", Required = true };
        var template = new Option<string>("--template") { Description = "Prompt template (alpaca, koalpaca, ia3-seed or a format with {|})", DefaultValueFactory = _ => "alpaca" };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Longest model answer", DefaultValueFactory = _ => 32 };
        var sample = new Option<bool>("--sample") { Description = "Sample the model's answer (temperature, top-k, top-p) instead of greedy decoding" };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature", DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k") { Description = "Sampling top-k", DefaultValueFactory = _ => 50 };
        var topP = new Option<float>("--top-p") { Description = "Sampling top-p", DefaultValueFactory = _ => 1f };
        var seed = new Option<int>("--seed") { Description = "Sampling seed", DefaultValueFactory = _ => 0 };
        var threshold = new Option<double>("--dedup-threshold") { Description = "Drop a prompt whose MinHash Jaccard estimate to an earlier one reaches this (>1: keep all)", DefaultValueFactory = _ => 0.8 };
        var ngram = new Option<int>("--ngram") { Description = "Character n-gram length of the MinHash shingles", DefaultValueFactory = _ => 5 };
        var limit = new Option<int>("--limit") { Description = "Use the first N records after deduplication (0: all)", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print the counts as one JSON object" };
        var cmd = new Command("build", "Build preference pairs from SFT data: dataset answer = chosen, the model's answer = rejected")
            { sft, model, adapter, output, template, maxNew, sample, temperature, topK, topP, seed, threshold, ngram, limit, json };
        cmd.SetAction(pr => Run(pr.GetValue(sft)!, pr.GetValue(model)!, pr.GetValue(adapter), pr.GetValue(output)!, pr.GetValue(template)!,
            new PreferenceBuildOptions(pr.GetValue(maxNew), !pr.GetValue(sample), pr.GetValue(temperature), pr.GetValue(topK), pr.GetValue(topP),
                pr.GetValue(seed), pr.GetValue(threshold), pr.GetValue(ngram), Limit: pr.GetValue(limit)), pr.GetValue(json)));
        return cmd;
    }

    public static int Run(string sftPath, string modelDir, string? adapterDir, string outPath, string templateName, PreferenceBuildOptions options, bool asJson)
    {
        if (!Directory.Exists(modelDir)) return CliOutput.Fail($"{modelDir}: no such model directory");
        if (adapterDir is not null && !Directory.Exists(adapterDir)) return CliOutput.Fail($"{adapterDir}: no such adapter directory");
        if (options.MaxNewTokens < 1) return CliOutput.Fail($"--max-new-tokens must be positive, got {options.MaxNewTokens}");
        List<PreferencePair> pairs;
        PreferenceBuildReport report;
        try
        {
            var template = PromptTemplates.Get(templateName);
            var records = InstructionFile.Load(sftPath, template.Schema, BadRecordPolicy.Fail);
            var tokenizer = ModelTokenizer.Load(modelDir);
            var lm = ComputeBackends.Default.Load(modelDir, new InferenceSetup { AdapterDirectory = adapterDir });
            (pairs, report) = TerminalProgress.Run("generating rejected answers", p => PreferenceBuilder.Build(lm, tokenizer, records, template, options, p));
            if (pairs.Count == 0) return CliOutput.Fail($"{sftPath}: no pairs: every answer was a near-duplicate prompt, identical to the dataset's or empty");
            PreferenceFile.Write(outPath, pairs);
        }
        catch (Exception e) when (e is DataFormatException or FormatException or IOException or ArgumentException or NotSupportedException)
        {
            return CliOutput.Fail(e.Message);
        }
        var counts = new JsonObject
        {
            ["records"] = report.Records, ["near_duplicates"] = report.NearDuplicates, ["identical"] = report.Identical,
            ["empty_answers"] = report.EmptyAnswers, ["pairs"] = report.Pairs, ["generation_seconds"] = Math.Round(report.GenerationSeconds, 2),
            ["out"] = Path.GetFullPath(outPath),
        };
        if (asJson) CliOutput.WriteJson(counts);
        else Console.WriteLine($"{report.Records} records, {report.NearDuplicates} near-duplicate prompts dropped, {report.Identical} identical answers and " +
                               $"{report.EmptyAnswers} empty answers skipped: wrote {report.Pairs} pairs to {outPath}");
        return 0;
    }
}
