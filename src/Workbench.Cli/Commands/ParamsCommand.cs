using System.CommandLine;
using System.Text.Json.Nodes;
using Workbench.Adapters;
using Workbench.Formats;
using Workbench.Models;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb params CONFIG_OR_MODEL --method lora|ia3 [--r 8] [--target NAME ...] [--json]</c>: trainable and total
/// parameters with an adapter, from config.json alone, as PEFT's print_trainable_parameters reports them
/// (total = base + the parameters the adapter adds). Exit 2 on bad input.
/// </summary>
public static class ParamsCommand
{
    public static Command Build()
    {
        var path = new Argument<string>("path") { Description = "A model directory or a config.json file" };
        var method = new Option<string>("--method") { Description = "an adapter method: lora or ia3", DefaultValueFactory = _ => "lora" };
        var r = new Option<int>("--r") { Description = "LoRA rank", DefaultValueFactory = _ => 8 };
        var targets = new Option<string[]>("--target") { Description = "target module names, repeated or comma-separated (default: the model type's; all-linear)", AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var cmd = new Command("params", "Count the trainable parameters of a LoRA or IA3 adapter from a model config") { path, method, r, targets, json };
        cmd.SetAction(pr => Run(pr.GetValue(path)!, pr.GetValue(method)!, pr.GetValue(r), Flags.List(pr.GetValue(targets)), pr.GetValue(json)));
        return cmd;
    }

    public static int Run(string path, string method, int r, string[]? targets, bool asJson)
    {
        if (!Directory.Exists(path) && !File.Exists(path)) return CliOutput.Fail($"{path}: no such file or directory");
        if (r < 1) return CliOutput.Fail($"--r: must be at least 1, got {r}");
        if (!EnumSpelling.TryParse(typeof(AdapterMethod), method, out var m) || AdapterMethods.Get((AdapterMethod)m!) is not { } definition)
            return CliOutput.Fail($"--method: unknown method '{method}' ({string.Join(", ", AdapterMethods.All.Select(d => EnumSpelling.Name(d.Method)))})");
        var adapter = definition.Create(new AdapterOptions { R = r, TargetModules = TargetModules.FromList(targets ?? []) });
        AdapterParameterCount count;
        try { count = AdapterParameterCount.For(ModelConfig.Load(path), adapter); }
        catch (Exception e) when (e is FormatException or IOException or ArgumentException) { return CliOutput.Fail(e.Message); }

        if (asJson)
            CliOutput.WriteJson(new JsonObject
            {
                ["trainable"] = count.Trainable, ["total"] = count.Total, ["percent"] = count.Percent,
                ["base"] = count.Base, ["layers"] = count.TargetedLayers.Count,
            });
        else
            Console.WriteLine($"trainable params: {count.Trainable:N0} || all params: {count.Total:N0} || trainable%: {count.Percent:F4}");
        return 0;
    }
}
