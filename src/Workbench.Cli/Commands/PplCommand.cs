using System.CommandLine;
using System.Text.Json.Nodes;
using Workbench.Evaluation;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb ppl MODEL_DIR --file FILE [--field text | --column document] [--max-length N] [--stride N] [--json]</c>:
/// perplexity of a text file (one document), a JSONL file (one document per line's field) or a TSV file (one document
/// per row of a column) with sliding windows; prints
/// <c>{"nll": .., "ppl": .., "tokens": ..}</c> with --json. Exit code 2 for bad input.
/// </summary>
public static class PplCommand
{
    public static Command Build()
    {
        var model = new Argument<string>("model") { Description = "A model directory (config.json, safetensors weights, tokenizer)" };
        var file = new Option<string>("--file") { Description = "A text file, or .jsonl with one document per line", Required = true };
        var field = new Option<string>("--field") { Description = "The JSONL field holding the text", DefaultValueFactory = _ => "text" };
        var column = new Option<string?>("--column") { Description = "For a tab-separated file with a header: the column holding the texts, one document a row (e.g. document)" };
        var maxLength = new Option<int?>("--max-length") { Description = "Window length (default: the model's max positions)" };
        var stride = new Option<int?>("--stride") { Description = "Tokens between window starts (default: the window length)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var backend = new BackendChoice.Options();
        var cmd = new Command("ppl", "Perplexity of a model on a text, JSONL or TSV file") { model, file, field, column, maxLength, stride, json };
        backend.AddTo(cmd);
        cmd.SetAction(pr => Run(pr.GetValue(model)!, pr.GetValue(file)!, pr.GetValue(field)!, pr.GetValue(column), pr.GetValue(maxLength), pr.GetValue(stride), pr.GetValue(json), backend.From(pr)));
        return cmd;
    }

    public static int Run(string directory, string file, string field, string? column, int? maxLength, int? stride, bool asJson, BackendChoice? backend = null)
    {
        if (!File.Exists(file)) return CliOutput.Fail($"{file}: no such file");
        if (maxLength < 2) return CliOutput.Fail($"--max-length: must be at least 2, got {maxLength}");
        if (stride < 1) return CliOutput.Fail($"--stride: must be at least 1, got {stride}");
        if (!ModelLoading.TryLoad(directory, backend ?? new(), withTokenizer: true, out var model, out var tokenizer, out int code)) return code;
        PerplexityResult result;
        try
        {
            int length = maxLength ?? model.Config.MaxPositions;
            result = Perplexity.OfTexts(model, tokenizer!, Perplexity.ReadDocuments(file, field, column), length, stride ?? length);
        }
        catch (Exception e) when (e is FormatException or IOException or ArgumentException) { return CliOutput.Fail($"ppl: {e.Message}"); }
        if (asJson) CliOutput.WriteJson(new JsonObject { ["nll"] = result.Nll, ["ppl"] = result.Ppl, ["tokens"] = result.Tokens });
        else Console.WriteLine($"nll {result.Nll:F4}  ppl {result.Ppl:F3}  tokens {result.Tokens}");
        return 0;
    }
}
