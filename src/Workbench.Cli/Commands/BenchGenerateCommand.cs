using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Workbench.Generation;
using Workbench.Models;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb bench generate MODEL_DIR --max-new-tokens N [--json]</c>: load time and greedy decoding speed with the KV
/// cache from the BOS token, exactly N tokens (EOS ignored); the same measurement as bench/generate_torch.py.
/// The best of --repeat timed runs after one warm-up run.
/// </summary>
public static class BenchGenerateCommand
{
    public static Command Build()
    {
        var model = new Argument<string>("model") { Description = "A model directory (config.json, safetensors weights)" };
        var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 256 };
        var repeat = new Option<int>("--repeat") { DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json");
        var backend = new BackendChoice.Options();
        var cmd = new Command("generate", "Time model loading and greedy generation with the KV cache") { model, maxNew, repeat, json };
        backend.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            var directory = pr.GetValue(model)!;
            int tokens = pr.GetValue(maxNew), runs = pr.GetValue(repeat);
            if (tokens < 1 || runs < 1) return CliOutput.Fail("bench generate: --max-new-tokens and --repeat must be positive");
            var watch = Stopwatch.StartNew();
            if (!ModelLoading.TryLoad(directory, backend.From(pr), withTokenizer: false, out var m, out _, out int code)) return code;
            double load = watch.Elapsed.TotalSeconds;
            var result = Run(m, tokens, runs);
            result["compute_backend"] = backend.From(pr).Backend;
            result["load_seconds"] = load;
            if (pr.GetValue(json)) CliOutput.WriteJson(result);
            else foreach (var (k, v) in result) Console.WriteLine($"{k,-18} {v}");
            return 0;
        });
        return cmd;
    }

    public static JsonObject Run(ICausalLM model, int tokens, int runs)
    {
        tokens = Math.Min(tokens, model.Config.MaxPositions - 1);
        int[] prompt = [model.Config.BosTokenId ?? 1];
        var options = new GenerationOptions { MaxNewTokens = tokens };
        Generator.Generate(model, [prompt], options);                      // warm-up: JIT, buffers
        double best = double.MaxValue;
        for (int i = 0; i < runs; i++) best = Math.Min(best, Generator.Generate(model, [prompt], options).Seconds);
        return new JsonObject
        {
            ["new_tokens"] = tokens,
            ["seconds"] = best,
            ["tokens_per_second"] = tokens / best,
            ["threads"] = Engine.Par.Threads,
        };
    }
}
