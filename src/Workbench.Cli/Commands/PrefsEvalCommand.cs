using System.CommandLine;
using System.Text.Json.Nodes;
using Workbench.Backends;
using Workbench.Data;
using Workbench.Evaluation;
using Workbench.Formats;
using Workbench.Training;
using Workbench.Training.Preference;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb prefs eval BASE --adapter DIR --pairs FILE [--method dpo|orpo] [--beta 0.1] [--json]</c>: TRL's reward metrics on
/// held-out pairs, the adapter loaded from its PEFT files over the base (DPO's reference is the base itself). Pairs are
/// tokenised by the same TRL 0.28.0 rules as training (<c>--max-length</c>, <c>--max-prompt-length</c>). Exit 2 on bad input.
/// </summary>
public static class PrefsEvalCommand
{
    public static Command Build()
    {
        var model = new Argument<string>("model") { Description = "Base model directory" };
        var adapter = new Option<string>("--adapter") { Description = "PEFT adapter directory (omit to score the base alone)" };
        var pairsFile = new Option<string>("--pairs") { Description = "Held-out preference pairs (JSON or JSONL)", Required = true };
        var method = new Option<string>("--method") { Description = "dpo (rewards β·(log π − log π_ref)) or orpo (β · mean log π)", DefaultValueFactory = _ => "dpo" };
        var beta = new Option<double>("--beta") { Description = "β of the run", DefaultValueFactory = _ => 0.1 };
        var lossType = new Option<string>("--loss-type") { Description = "dpo: sigmoid or ipo", DefaultValueFactory = _ => "sigmoid" };
        var template = new Option<string>("--template") { Description = "Template for conversational pairs", DefaultValueFactory = _ => "alpaca" };
        var maxLength = new Option<int>("--max-length") { Description = "TRL max_length", DefaultValueFactory = _ => 256 };
        var maxPrompt = new Option<int>("--max-prompt-length") { Description = "TRL max_prompt_length (0: none)", DefaultValueFactory = _ => 512 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var cmd = new Command("eval", "Reward accuracy and margins of an adapter on held-out preference pairs")
            { model, adapter, pairsFile, method, beta, lossType, template, maxLength, maxPrompt, json };
        cmd.SetAction(pr => Run(pr.GetValue(model)!, pr.GetValue(adapter), pr.GetValue(pairsFile)!, pr.GetValue(method)!, pr.GetValue(beta),
            pr.GetValue(lossType)!, pr.GetValue(template)!, pr.GetValue(maxLength), pr.GetValue(maxPrompt), pr.GetValue(json)));
        return cmd;
    }

    public static int Run(string modelDir, string? adapterDir, string pairsPath, string methodName, double beta, string lossType,
        string template, int maxLength, int maxPromptLength, bool asJson)
    {
        if (!Directory.Exists(modelDir)) return CliOutput.Fail($"{modelDir}: no such model directory");
        if (adapterDir is not null && !Directory.Exists(adapterDir)) return CliOutput.Fail($"{adapterDir}: no such adapter directory");
        JsonObject result;
        try
        {
            var config = new TrainingConfig
            {
                Method = EnumSpelling.Parse<TrainingMethod>(methodName, "--method"), Beta = beta, LossType = EnumSpelling.Parse<DpoLossType>(lossType, "--loss-type"),
                BaseModel = modelDir, Data = pairsPath, Template = template, MaxLength = maxLength, MaxPromptLength = maxPromptLength,
            };
            var loss = PreferenceData.Loss(config);
            var pairs = PreferenceData.Load(config, ModelTokenizer.Load(modelDir), []);
            var tuned = ComputeBackends.Default.Load(modelDir, new InferenceSetup { AdapterDirectory = adapterDir });
            var policy = TerminalProgress.Run("scoring the tuned model", p => PreferenceScorer.Score(tuned, pairs, p));
            var reference = loss.NeedsReference
                ? TerminalProgress.Run("scoring the reference", p => PreferenceScorer.Score(ComputeBackends.Default.Load(modelDir, new InferenceSetup()), pairs, p))
                : null;
            var scored = HeldOutPreferences.Evaluate(loss, policy, reference);
            result = new JsonObject { ["pairs"] = pairs.Count, ["method"] = methodName, ["loss"] = scored.Loss };
            foreach (var (name, value) in scored.Metrics) result["eval_" + name] = value;
        }
        catch (Exception e) when (e is TrainingConfigException or DataFormatException or FormatException or IOException or ArgumentException or NotSupportedException)
        {
            return CliOutput.Fail(e.Message);
        }
        if (asJson) CliOutput.WriteJson(result);
        else foreach (var (k, v) in result) Console.WriteLine($"{k,-26} {v}");
        return 0;
    }
}
