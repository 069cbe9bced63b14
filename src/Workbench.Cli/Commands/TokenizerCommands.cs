using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Workbench.Formats;
using Workbench.Tokenizers;
using Workbench.Tokenizers.Training;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb tokenizer train --files F1 F2 … --vocab-size N --out DIR [--min-frequency 2] [--special-tokens …]
/// [--column document | --field instruction,output] [--eval FILE] [--json]</c>: trains a byte-level BPE tokenizer
/// (GPT-NeoX / Polyglot-ko style) and writes tokenizer.json + tokenizer_config.json. The summary gives the
/// vocabulary size, merge count, training seconds and characters per token on --eval (else the training text).
/// </summary>
public static class TokenizerCommands
{
    public static Command Build()
    {
        var files = new Option<string[]>("--files") { Description = "training files", Required = true, AllowMultipleArgumentsPerToken = true };
        var vocabSize = new Option<int>("--vocab-size") { Description = "vocabulary size, special tokens and the 256 bytes included", Required = true };
        var outDir = new Option<string>("--out") { Description = "output folder", Required = true };
        var minFrequency = new Option<long>("--min-frequency") { Description = "a pair must occur this often to be merged", DefaultValueFactory = _ => 2 };
        var specials = new Option<string[]>("--special-tokens")
        {
            Description = "special tokens, ids 0, 1, … (first = BOS/EOS/UNK, second = PAD)", AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => ByteLevelBpeOptions.DefaultSpecialTokens.ToArray(),
        };
        var column = new Option<string?>("--column") { Description = "train on this column of tab-separated files with a header (e.g. document)" };
        var field = new Option<string?>("--field") { Description = "train on these comma-separated string fields of JSON lines (e.g. instruction,output)" };
        var eval = new Option<string?>("--eval") { Description = "measure characters per token on this file (read like the training files)" };
        var force = new Option<bool>("--force") { Description = "replace an earlier tokenizer written by Workbench at --out" };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var train = new Command("train", "Train a byte-level BPE tokenizer (Hugging Face tokenizer.json)")
            { files, vocabSize, outDir, minFrequency, specials, column, field, eval, force, json };
        train.SetAction(pr =>
        {
            try
            {
                var text = new TrainingText(pr.GetValue(column), pr.GetValue(field)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                var options = new ByteLevelBpeOptions(pr.GetValue(vocabSize), pr.GetValue(minFrequency), pr.GetValue(specials));
                var result = Train(pr.GetValue(files)!, text, options, pr.GetValue(outDir)!, pr.GetValue(eval), pr.GetValue(force));
                if (pr.GetValue(json)) CliOutput.WriteJson(result);
                else foreach (var (key, value) in result) Console.WriteLine($"{key,-16} {value}");
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or IOException or FormatException or UnauthorizedAccessException)
            {
                return CliOutput.Fail($"tokenizer train: {e.Message}");
            }
        });
        return new Command("tokenizer", "Tokenizer tools") { train };
    }

    public static JsonObject Train(IReadOnlyList<string> files, TrainingText text, ByteLevelBpeOptions options, string outDir, string? evalFile, bool force = false)
    {
        if (files.Count == 0) throw new ArgumentException("--files: give at least one training file");
        if (options.MinFrequency < 1) throw new ArgumentException($"--min-frequency: must be at least 1, got {options.MinFrequency}");
        OutputFolder.Claim(outDir, ByteLevelBpe.Kind, force, [.. files, evalFile]);   // before the work, not after
        int minimum = options.Specials.Distinct().Count() + 256;
        if (options.VocabSize < minimum)
            throw new ArgumentException($"--vocab-size {options.VocabSize} is below {minimum} (the special tokens and the 256 bytes)");
        var clock = Stopwatch.StartNew();
        var vocabulary = ByteLevelBpe.Train(text.Read(files), options);
        ByteLevelBpe.Save(vocabulary, options, outDir, force);
        double seconds = clock.Elapsed.TotalSeconds;

        var tokenizer = Tokenizer.Load(outDir);
        long chars = 0, tokens = 0;
        foreach (string s in evalFile != null ? text.Read(evalFile) : text.Read(files))
        {
            chars += s.EnumerateRunes().Count();
            tokens += tokenizer.Encode(s, addSpecialTokens: false).Length;
        }
        return new JsonObject
        {
            ["vocab_size"] = tokenizer.VocabSize,
            ["merges"] = vocabulary.Merges.Count,
            ["seconds"] = Math.Round(seconds, 2),
            ["chars_per_token"] = tokens == 0 ? 0 : Math.Round((double)chars / tokens, 4),
            ["out"] = Path.GetFullPath(outDir),
        };
    }
}
