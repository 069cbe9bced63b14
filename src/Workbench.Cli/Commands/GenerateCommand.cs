using System.CommandLine;
using System.Text.Json.Nodes;
using Workbench.Generation;
using Workbench.Models;
using Workbench.Tokenizers;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb generate MODEL_DIR --prompt TEXT [--greedy] [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P]
/// [--repetition-penalty R] [--seed S] [--stop STR] [--json]</c>: continues a prompt, streaming the text as it is
/// written, or printing <c>{"ids": [new ids], "text": ..., "tokens_per_second": ...}</c> with --json.
/// Samples unless --greedy (transformers' top-k 50 by default). Exit code 2 for bad input.
/// </summary>
public static class GenerateCommand
{
    public static Command Build()
    {
        var model = new Argument<string>("model") { Description = "A model directory (config.json, safetensors weights, tokenizer)" };
        var prompt = new Option<string>("--prompt") { Description = "The text to continue", Required = true };
        var greedy = new Option<bool>("--greedy") { Description = "Pick the most likely token instead of sampling" };
        var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 64 };
        var temperature = new Option<float>("--temperature") { DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k") { Description = "0 turns it off", DefaultValueFactory = _ => 50 };
        var topP = new Option<float>("--top-p") { DefaultValueFactory = _ => 1f };
        var repetition = new Option<float>("--repetition-penalty") { DefaultValueFactory = _ => 1f };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0 };
        var stop = new Option<string[]>("--stop") { Description = "Stop once the new text contains this (repeatable)", AllowMultipleArgumentsPerToken = false };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var backend = new BackendChoice.Options();
        var cmd = new Command("generate", "Continue a prompt with a Hugging Face model")
        {
            model, prompt, greedy, maxNew, temperature, topK, topP, repetition, seed, stop, json,
        };
        backend.AddTo(cmd);
        cmd.SetAction(pr => Run(pr.GetValue(model)!, pr.GetValue(prompt)!, new GenerationOptions
        {
            Greedy = pr.GetValue(greedy), MaxNewTokens = pr.GetValue(maxNew), Temperature = pr.GetValue(temperature),
            TopK = pr.GetValue(topK), TopP = pr.GetValue(topP), RepetitionPenalty = pr.GetValue(repetition),
            Seed = pr.GetValue(seed), StopStrings = pr.GetValue(stop) ?? [],
        }, pr.GetValue(json), backend.From(pr)));
        return cmd;
    }

    public static int Run(string directory, string prompt, GenerationOptions options, bool asJson, BackendChoice? backend = null)
    {
        try { options.Validate(); }
        catch (ArgumentException e) { return CliOutput.Fail(Flags.AsFlag(e.Message)); }
        if (!ModelLoading.TryLoad(directory, backend ?? new(), withTokenizer: true, out var model, out var tokenizer, out int code)) return code;
        var ids = tokenizer!.Encode(prompt);
        if (ids.Length == 0) return CliOutput.Fail("--prompt: encodes to no tokens");
        options = options with
        {
            EosIds = model.Config.EosTokenIds.Concat(tokenizer.EosId is { } eos ? [eos] : []).Distinct().ToArray(),
            PadId = tokenizer.PadId ?? model.Config.PadTokenId ?? tokenizer.EosId ?? 0,
        };

        var stream = new TextStream(tokenizer);
        GenerationResult result;
        try
        {
            result = Generator.Generate(model, [ids], options, generated => tokenizer.Decode(generated, skipSpecialTokens: true),
                asJson ? null : (_, token) => Console.Write(stream.Add(token)));
        }
        catch (ArgumentException e) { return CliOutput.Fail($"generate: {e.Message}"); }

        var text = tokenizer.Decode(result.Tokens[0], skipSpecialTokens: true);
        if (asJson)
            CliOutput.WriteJson(new JsonObject
            {
                ["ids"] = new JsonArray(result.Tokens[0].Select(i => (JsonNode)i).ToArray()),
                ["text"] = text,
                ["tokens_per_second"] = result.TokensPerSecond,
            });
        else Console.WriteLine();
        return 0;
    }

    /// <summary>Turns tokens into the text they add: decodes everything so far and returns the new suffix (pieces may merge).</summary>
    private sealed class TextStream(ITokenizer tokenizer)
    {
        private readonly List<int> ids = [];
        private string shown = "";

        public string Add(int token)
        {
            ids.Add(token);
            var text = tokenizer.Decode(ids, skipSpecialTokens: true);
            if (!text.StartsWith(shown, StringComparison.Ordinal)) return "";
            var added = text[shown.Length..];
            shown = text;
            return added;
        }
    }
}
