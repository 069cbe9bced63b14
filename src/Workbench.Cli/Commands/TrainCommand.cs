using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using Workbench.Data;
using Workbench.Training;
using Workbench.Formats;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb train --config run.yaml [--key value ...] [--resume latest|DIR] [--json]</c>: supervised fine-tuning.
/// Every <see cref="TrainingConfig"/> key is also a flag (<c>lora_r</c> → <c>--lora-r</c>) that overrides the file.
/// Progress: a Spectre progress bar on an interactive terminal, plain lines otherwise (stderr with --json, whose
/// stdout is the summary). Ctrl-C or SIGTERM saves a checkpoint after the current step and stops without writing the
/// adapter (<see cref="StopSignals"/>); a second signal kills.
/// Exit codes: 0 trained, 1 diverged (NaN/Inf), 2 bad config, paths or data, 130/143 stopped by SIGINT/SIGTERM with a checkpoint.
/// </summary>
public static class TrainCommand
{
    public static Command Build()
    {
        var configFile = new Option<string>("--config") { Description = "YAML or JSON training config" };
        var resume = new Option<string>("--resume") { Description = "continue from a checkpoint folder, or 'latest' under output_dir" };
        var json = new Option<bool>("--json") { Description = "print the summary as one JSON object" };
        var cmd = new Command("train", "Fine-tune a causal LM (LoRA, IA3 or full) on instruction data, or with DPO / ORPO on preference pairs") { configFile, resume, json };
        var overrides = new List<(TrainingConfigLoader.Field Field, Option Option)>();
        foreach (var f in TrainingConfigLoader.Fields)
        {
            Option option = f.Type == typeof(bool)
                ? new Option<bool>(f.Flag) { Description = f.Description }
                : new Option<string>(f.Flag) { Description = f.Description };
            overrides.Add((f, option));
            cmd.Options.Add(option);
        }
        cmd.SetAction(pr =>
        {
            var given = overrides
                .Where(o => pr.GetResult(o.Option) is { Implicit: false })
                .Select(o => new KeyValuePair<string, IReadOnlyList<string>>(o.Field.Key,
                    [o.Option is Option<bool> b ? pr.GetValue(b).ToString() : pr.GetValue((Option<string>)o.Option) ?? ""]));
            return Run(pr.GetValue(configFile), given, pr.GetValue(resume), pr.GetValue(json));
        });
        return cmd;
    }

    public static int Run(string? configPath, IEnumerable<KeyValuePair<string, IReadOnlyList<string>>> overrides, string? resume, bool asJson)
    {
        TrainingRun run;
        try
        {
            var config = configPath is null ? new TrainingConfig() : TrainingConfigLoader.Load(configPath);
            var flags = overrides.Select(o => o.Key).ToHashSet();
            config = TrainingConfigLoader.Apply(config, overrides, TrainingConfigLoader.CommandLine)
                .Validate(key => flags.Contains(key) ? "--" + key.Replace('_', '-') : $"{configPath ?? TrainingConfigLoader.CommandLine}: {key}");
            run = TrainingRun.Create(config, resume);
        }
        catch (Exception e) when (e is TrainingConfigException or DataFormatException or FormatException or IOException)
        {
            return CliOutput.Fail($"train: {e.Message}");
        }

        var log = asJson ? Console.Error : Console.Out;
        foreach (var w in run.Warnings) Console.Error.WriteLine($"wb: warning: {w}");
        var t = run.Trainer;
        string data = run.Config.Method == TrainingMethod.Sft ? $"{run.Examples.Count} sequences" : $"{EnumSpelling.Name(run.Config.Method)} on {run.Pairs.Count} preference pairs";
        log.WriteLine($"training {EnumSpelling.Name(run.Config.Adapter)}: {t.TrainableParameters:N0} of {t.TotalParameters:N0} parameters, " +
                      $"{data}, {t.TotalSteps} steps{(run.ResumedFrom is null ? "" : $", resumed from {run.ResumedFrom}")}");

        using var stop = new StopSignals("stopping after this step and saving a checkpoint");
        try
        {
            TrainingSummary summary;
            bool interactive = !asJson && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
            if (interactive) summary = WithProgressBar(t, stop.Token);
            else
            {
                t.OnStep = s => { if (s.Step % run.Config.LoggingSteps == 0 || s.Step == s.TotalSteps) log.WriteLine(s); };
                t.OnCheckpoint = p => log.WriteLine($"saved {p}");
                summary = t.Train(stop.Token);
            }
            // a stopped run's adapter is half-trained: only its checkpoint is written, never the final adapter
            if (!summary.Cancelled)
                foreach (var file in run.SaveAdapter()) (asJson ? Console.Error : Console.Out).WriteLine($"saved {file}");
            if (asJson) CliOutput.WriteJson(summary.ToJson());
            else PrintSummary(summary);
            return summary.Cancelled ? stop.ExitCode ?? 130 : 0;
        }
        catch (TrainingDivergedException e)
        {
            Console.Error.WriteLine($"wb: train: {e.Message}");
            return 1;
        }
        catch (IOException e)
        {
            return CliOutput.Fail($"train: {e.Message}");
        }
    }

    private static TrainingSummary WithProgressBar(Trainer t, CancellationToken token)
    {
        TrainingSummary? summary = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("training", maxValue: t.TotalSteps);
                task.Value = t.State.GlobalStep;
                t.OnStep = s =>
                {
                    task.Value = s.Step;
                    task.Description = Markup.Escape($"step {s.Step}/{s.TotalSteps} loss {s.Loss:F4} lr {s.LearningRate:E2} {s.TokensPerSecond:F0} tok/s");
                };
                summary = t.Train(token);
            });
        return summary!;
    }

    private static void PrintSummary(TrainingSummary s)
    {
        if (s.Cancelled) Console.WriteLine($"stopped at step {s.Steps} of {s.TotalSteps}; checkpoint saved to {s.Checkpoint}; continue with --resume latest");
        foreach (var (k, v) in s.ToJson()) Console.WriteLine($"{k,-24} {v}");
    }
}
