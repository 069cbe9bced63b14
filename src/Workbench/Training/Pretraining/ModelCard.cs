using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Workbench.Formats;

namespace Workbench.Training.Pretraining;

/// <summary>The README.md of a pretrained model directory: what it is, what it was trained on and how, and how well it fits.</summary>
public static class ModelCard
{
    public static string Render(PretrainConfig c, PretrainResult r, IReadOnlyList<string> logLines)
    {
        var inv = CultureInfo.InvariantCulture;
        var t = c.Training;
        var s = new StringBuilder();
        string name = Path.GetFileName(r.ModelDir);
        s.AppendLine(inv, $"# {name}");
        s.AppendLine();
        s.AppendLine(inv, $"A small GPT-NeoX language model shaped like Polyglot-ko, trained from scratch by `wb pretrain` (Workbench). " +
                          $"{r.Parameters:N0} parameters, weights in {c.TorchDtype}. A toy for exercising fine-tuning pipelines, not a useful Korean model.");
        s.AppendLine();
        s.AppendLine("## Model");
        s.AppendLine();
        s.AppendLine("| setting | value |");
        s.AppendLine("|---|---|");
        foreach (var (k, v) in new (string, object)[]
        {
            ("hidden_size", c.HiddenSize), ("num_hidden_layers", c.NumLayers), ("num_attention_heads", c.NumHeads),
            ("intermediate_size", c.IntermediateSize), ("rotary_pct", c.RotaryPct), ("max_position_embeddings", c.MaxPositionEmbeddings),
            ("use_parallel_residual", c.UseParallelResidual), ("initializer_range", c.InitializerRange), ("tokenizer", c.Tokenizer),
        })
            s.AppendLine(inv, $"| {k} | {Convert.ToString(v, inv)} |");
        s.AppendLine();
        s.AppendLine("## Data");
        s.AppendLine();
        foreach (var text in c.Texts) s.AppendLine(inv, $"- `{text}`");
        s.AppendLine();
        s.AppendLine(inv, $"Documents tokenised, joined with EOS and cut into {r.Blocks:N0} blocks of {t.MaxLength} tokens ({r.TrainTokens:N0} tokens).");
        s.AppendLine();
        s.AppendLine("## Training");
        s.AppendLine();
        s.AppendLine(inv, $"AdamW, learning rate {t.LearningRate:G4} ({EnumSpelling.Name(t.LrSchedulerType)}, warmup {(t.WarmupSteps > 0 ? t.WarmupSteps + " steps" : t.WarmupRatio.ToString(inv))}), " +
                          $"{t.MicroBatchSize} × {t.GradientAccumulationSteps} blocks per step, weight decay {t.WeightDecay:G3}, grad-norm clip {t.MaxGradNorm:G3}, seed {t.Seed}.");
        s.AppendLine(inv, $"{r.Training.Steps} of {r.Training.TotalSteps} steps{(r.Training.Cancelled ? " (stopped at the time limit)" : "")}, " +
                          $"{r.Training.SecondsPerStep:F2} s/step, {r.Training.TokensPerSecond:F0} tokens/s; {r.Seconds / 60:F1} minutes in all on the CPU.");
        s.AppendLine();
        var curve = logLines.Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!)
            .Select(n => (Step: n["step"]!.GetValue<int>(), Loss: n["loss"]!.GetValue<double>())).ToList();
        if (curve.Count > 0)
        {
            s.AppendLine("Training loss (nats/token; full curve in train_log.jsonl):");
            s.AppendLine();
            s.AppendLine("| step | loss |");
            s.AppendLine("|---|---|");
            foreach (var i in new[] { 0, curve.Count / 4, curve.Count / 2, 3 * curve.Count / 4, curve.Count - 1 }.Distinct())
                s.AppendLine(inv, $"| {curve[i].Step} | {curve[i].Loss:F3} |");
            s.AppendLine();
        }
        if (r.Heldout is { } h || r.CharsPerToken is not null)
        {
            s.AppendLine("## Evaluation");
            s.AppendLine();
            if (r.Heldout is { } p)
                s.AppendLine(inv, $"Held-out perplexity on `{c.Heldout}`: **{p.Ppl:F2}** (NLL {p.Nll:F3} nats/token over {p.Tokens:N0} tokens, windows of {t.MaxLength}).");
            if (r.CharsPerToken is { } cpt)
                s.AppendLine(inv, $"Tokenizer: {cpt:F2} characters per token on `{c.Heldout}`.");
            s.AppendLine();
        }
        s.AppendLine("## Use");
        s.AppendLine();
        s.AppendLine("```");
        s.AppendLine(inv, $"wb generate {c.Training.OutputDir} --prompt \"이 영화\" --max-new-tokens 32");
        s.AppendLine(inv, $"wb demo --model {c.Training.OutputDir}");
        s.AppendLine("```");
        return s.ToString();
    }
}
