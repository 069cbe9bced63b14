using System.CommandLine;
using Spectre.Console;
using System.Text.Json.Nodes;
using Workbench.Data;
using Workbench.Training;
using Workbench.Training.Pretraining;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb pretrain --config ko-tiny.yaml [--max-steps N] [--max-minutes M] [--output-dir DIR] [--json]</c>: a GPT-NeoX
/// trained from scratch on plain text (<see cref="Pretrainer"/>). Progress on stderr (a bar on a terminal, lines otherwise); the result on stdout.
/// Ctrl-C or SIGTERM stops training after the current step and still writes the model (<see cref="StopSignals"/>).
/// Exit codes: 0 written (also when stopped by the time limit), 1 diverged, 2 bad config, paths or data,
/// 130/143 written after SIGINT/SIGTERM.
/// </summary>
public static class PretrainCommand
{
    public static Command Build()
    {
        var configFile = new Option<string>("--config") { Description = "YAML pretraining config (model shape, tokenizer, texts, training keys)", Required = true };
        var maxSteps = new Option<string>("--max-steps") { Description = "optimizer steps (overrides the file)" };
        var maxMinutes = new Option<string>("--max-minutes") { Description = "stop training after this many minutes and write the model" };
        var outputDir = new Option<string>("--output-dir") { Description = "the model directory to write (overrides the file)" };
        var force = new Option<bool>("--force") { Description = "replace an earlier model written by Workbench at the output directory" };
        var json = new Option<bool>("--json") { Description = "print the result as one JSON object" };
        var cmd = new Command("pretrain", "Train a small GPT-NeoX from scratch on plain text and write a Hugging Face model directory")
            { configFile, maxSteps, maxMinutes, outputDir, force, json };
        cmd.SetAction(pr =>
        {
            var overrides = new List<KeyValuePair<string, IReadOnlyList<string>>>();
            foreach (var (key, option) in new[] { ("max_steps", maxSteps), ("max_minutes", maxMinutes), ("output_dir", outputDir) })
                if (pr.GetValue(option) is { } v) overrides.Add(new(key, [v]));
            return Run(pr.GetValue(configFile)!, overrides, pr.GetValue(force), pr.GetValue(json));
        });
        return cmd;
    }

    public static int Run(string configPath, IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> overrides, bool force, bool json)
    {
        using var stop = new StopSignals("stopping after this step and writing the model");
        try
        {
            var config = PretrainConfig.Load(configPath, overrides);
            var r = TerminalProgress.Interactive
                ? WithProgressBar(config, force, stop.Token)
                : Pretrainer.Run(config, m => Console.Error.WriteLine($"wb: {m}"), s =>
                {
                    if (s.Step % config.Training.LoggingSteps == 0 || s.Step == s.TotalSteps) Console.Error.WriteLine(s);
                }, stop.Token, force);
            if (json) CliOutput.WriteJson(Json(r));
            else Console.WriteLine($"wrote {r.ModelDir}: {r.Parameters:N0} parameters, {r.Training.Steps} steps, final loss {r.Training.FinalLoss:F4}" +
                              (r.Heldout is { } h ? $", held-out perplexity {h.Ppl:F2}" : "") + $", {r.Seconds / 60:F1} min");
            return stop.ExitCode ?? 0;
        }
        catch (TrainingDivergedException e)
        {
            Console.Error.WriteLine($"wb: pretrain: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is TrainingConfigException or DataFormatException or FormatException or IOException)
        {
            return CliOutput.Fail($"pretrain: {e.Message}");
        }
    }

    /// <summary>A terminal: the stages as lines, the steps as a bar with loss, speed and the time left (an hour-long job).</summary>
    private static PretrainResult WithProgressBar(PretrainConfig config, bool force, CancellationToken token)
    {
        PretrainResult? result = null;
        TerminalProgress.Bars((console, ctx) =>
        {
            ProgressTask? bar = null;
            result = Pretrainer.Run(config, m => console.MarkupLine(Markup.Escape($"wb: {m}")), s =>
            {
                bar ??= ctx.AddTask("pretraining", maxValue: s.TotalSteps);
                bar.Value = s.Step;
                bar.Description = Markup.Escape($"step {s.Step}/{s.TotalSteps} loss {s.Loss:F4} {s.TokensPerSecond:F0} tok/s");
            }, token, force);
        });
        return result!;
    }

    private static JsonObject Json(PretrainResult r) => new()
    {
        ["model_dir"] = Path.GetFullPath(r.ModelDir), ["parameters"] = r.Parameters, ["blocks"] = r.Blocks, ["train_tokens"] = r.TrainTokens,
        ["heldout_nll"] = r.Heldout?.Nll, ["heldout_ppl"] = r.Heldout?.Ppl, ["heldout_tokens"] = r.Heldout?.Tokens,
        ["chars_per_token"] = r.CharsPerToken, ["seconds"] = Math.Round(r.Seconds, 2), ["training"] = r.Training.ToJson(),
    };
}
