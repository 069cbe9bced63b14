using System.Diagnostics;
using System.Text.Json.Nodes;
using Workbench.Adapters.Merge;
using Workbench.Backends;
using Workbench.Backends.Managed;
using Workbench.Data;
using Workbench.Engine.Nn;
using Workbench.Evaluation;
using Workbench.Formats;
using Workbench.Models;
using Workbench.Tokenizers;
using Workbench.Tokenizers.Training;

namespace Workbench.Training.Pretraining;

/// <summary>What a pretraining run produced; also summarised in the model card.</summary>
public sealed record PretrainResult(string ModelDir, TrainingSummary Training, long Parameters, int Blocks, long TrainTokens,
    PerplexityResult? Heldout, double? CharsPerToken, double Seconds);

/// <summary>
/// Language-model pretraining from scratch, as run_clm.py does it: the texts tokenised (EOS after each document),
/// concatenated and cut into blocks of max_length, every token a target; a GPT-NeoX built from the config with
/// transformers' init (N(0, initializer_range²) matrices, unit norms, zero biases); every parameter trained by the
/// ordinary <see cref="Trainer"/> (its checkpoints and train_log.jsonl go to a hidden working folder beside the output,
/// removed at the end). The finished directory (config.json, model.safetensors in torch_dtype, tokenizer files,
/// train_log.jsonl, README.md model card) appears whole, under the rule of <see cref="OutputFolder"/>: output_dir is
/// checked before any work, and an earlier model there is replaced only with <c>force</c>.
/// </summary>
public static class Pretrainer
{
    /// <param name="force">replace an earlier model output at output_dir (<see cref="OutputFolder"/>).</param>
    public static PretrainResult Run(PretrainConfig c, Action<string>? progress = null, Action<StepLog>? onStep = null,
        CancellationToken cancellation = default, bool force = false)
    {
        var watch = Stopwatch.StartNew();
        progress ??= _ => { };
        var output = OutputFolder.Claim(c.Training.OutputDir, StandaloneExport.Kind, force, c.Tokenizer, c.Heldout.Length > 0 ? c.Heldout : null);
        // every text is read (and checked) before the first line of progress: a bad file fails with its own message alone
        var texts = c.Texts.Select(TextSource.Parse).SelectMany(s => s.Read()).ToList();
        var tokenizer = LoadOrTrainTokenizer(c, texts, progress);
        int eos = tokenizer.EosId ?? throw new TrainingConfigException($"tokenizer: {c.Tokenizer} has no EOS token to separate documents");

        progress("tokenising the texts");
        var documents = texts
            .Select(t => tokenizer.Encode(t, addSpecialTokens: false)).Where(ids => ids.Length > 0)
            .Select(ids => new TrainingExample(ids, ids));
        var blocks = Packer.Pack(documents, c.Training.MaxLength, eos, dropRemainder: true);
        if (blocks.Count == 0) throw new TrainingConfigException($"texts: fewer than max_length {c.Training.MaxLength} tokens in all");

        var configJson = c.ConfigJson(tokenizer.VocabSize, eos);
        var modelConfig = ModelConfig.Parse(configJson.ToJsonString(), "pretrain config");
        var model = CausalLM.Create(modelConfig, WeightSources.Random(c.Training.Seed, (float)c.InitializerRange));
        var trainable = ManagedBackend.Instance.Prepare(model, TrainingRun.Setup(c.Training));
        long parameters = model.NamedParameters().Sum(p => p.Tensor.Numel);
        progress($"model: gpt_neox hidden {c.HiddenSize}, {c.NumLayers} layers, {c.NumHeads} heads, vocab {tokenizer.VocabSize}: {parameters:N0} parameters; " +
                 $"{blocks.Count} blocks of {c.Training.MaxLength} tokens");

        // checkpoints and the log go to a hidden working folder beside the output, removed when the model is written
        var workDir = TempSibling.Of(output.Path, "work");
        try
        {
            var trainer = new Trainer(c.Training with { OutputDir = workDir }, trainable, blocks, TrainingData.PadId(tokenizer)) { OnStep = onStep };
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            if (c.MaxMinutes > 0) limit.CancelAfter(TimeSpan.FromMinutes(c.MaxMinutes));
            var summary = trainer.Train(limit.Token);

            PerplexityResult? heldout = null;
            double? charsPerToken = null;
            if (c.Heldout.Length > 0)
            {
                progress("held-out perplexity");
                var heldoutTexts = TextSource.Parse(c.Heldout).Read().ToList();
                heldout = Perplexity.OfIds(model, heldoutTexts.Select(t => tokenizer.Encode(t, addSpecialTokens: false)).Where(i => i.Length > 1),
                    c.Training.MaxLength, c.Training.MaxLength);
                charsPerToken = (double)heldoutTexts.Sum(t => t.Length) / heldoutTexts.Sum(t => tokenizer.Encode(t, addSpecialTokens: false).Length);
            }

            var result = new PretrainResult(output.Path, summary, parameters, blocks.Count, (long)blocks.Count * c.Training.MaxLength,
                heldout, charsPerToken, watch.Elapsed.TotalSeconds);
            progress($"writing {output.Path}");
            Write(c, model, configJson, workDir, output, result);
            return result;
        }
        finally
        {
            if (Directory.Exists(workDir)) Directory.Delete(workDir, recursive: true);
        }
    }

    private static ITokenizer LoadOrTrainTokenizer(PretrainConfig c, IReadOnlyList<string> texts, Action<string> progress)
    {
        if (!File.Exists(Path.Combine(c.Tokenizer, "tokenizer.json")))
        {
            progress($"training a byte-level BPE tokenizer (vocab {c.VocabSize}) into {c.Tokenizer}");
            var options = new ByteLevelBpeOptions(c.VocabSize, ModelMaxLength: c.MaxPositionEmbeddings);
            ByteLevelBpe.Save(ByteLevelBpe.Train(texts, options), options, c.Tokenizer);
        }
        try { return Tokenizer.Load(c.Tokenizer); }
        catch (Exception e) when (e is FileNotFoundException or FormatException) { throw new TrainingConfigException($"tokenizer: {e.Message}"); }
    }

    private static void Write(PretrainConfig c, Module model, JsonObject configJson, string workDir, OutputFolder output, PretrainResult result)
    {
        // StandaloneExport takes config.json and tokenizer files from a base folder: stage one in the working folder,
        // export into the folder being written, add the log and the card.
        var staging = Path.Combine(workDir, "base");
        Directory.CreateDirectory(staging);
        File.WriteAllText(Path.Combine(staging, "config.json"), configJson.ToJsonString(new() { WriteIndented = true }));
        foreach (var f in StandaloneExport.TokenizerFiles)
            if (File.Exists(Path.Combine(c.Tokenizer, f))) File.Copy(Path.Combine(c.Tokenizer, f), Path.Combine(staging, f), overwrite: true);
        output.Write(dir =>
        {
            StandaloneExport.Export(model, staging, dir);
            var log = Path.Combine(workDir, TrainingLogFile.FileName);
            if (File.Exists(log)) File.Copy(log, Path.Combine(dir, TrainingLogFile.FileName));
            File.WriteAllText(Path.Combine(dir, "README.md"), ModelCard.Render(c, result, File.Exists(log) ? TextFile.ReadLines(log).ToArray() : []));
        });
    }
}
