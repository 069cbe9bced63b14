using System.Numerics.Tensors;
using System.Text.Json;
using Workbench.Models;
using Workbench.Tokenizers;
using Workbench.Tokenizers.Training;
using Workbench.Formats;

namespace Workbench.Evaluation;

/// <summary>Mean negative log-likelihood per scored token (nats), its exponential, and how many tokens were scored.</summary>
public sealed record PerplexityResult(double Nll, double Ppl, long Tokens);

/// <summary>
/// Perplexity with transformers' sliding-window recipe: windows of at most <c>maxLength</c> tokens start every
/// <c>stride</c> tokens; the part of a window already scored by the previous one is context only (label −100),
/// so with stride &lt; maxLength every token but a document's first is scored exactly once, with at least
/// maxLength − stride tokens of context. stride = maxLength gives disjoint windows, whose first tokens have no
/// context and are not scored (as in the recipe). Documents are scored separately and pooled; the NLL is the mean
/// over scored tokens (the recipe's nll_sum / n_tokens, with the scored tokens counted exactly).
/// </summary>
public static class Perplexity
{
    public static PerplexityResult OfIds(ICausalLM model, IEnumerable<int[]> documents, int maxLength, int stride)
    {
        if (maxLength < 2 || maxLength > model.Config.MaxPositions)
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, $"max length must be in [2, {model.Config.MaxPositions}] (the model's positions)");
        if (stride < 1 || stride > maxLength)
            throw new ArgumentOutOfRangeException(nameof(stride), stride, $"stride must be in [1, max length {maxLength}]");
        double nll = 0;
        long tokens = 0;
        foreach (var ids in documents)
        {
            int previousEnd = 0;
            for (int begin = 0; begin < ids.Length; begin += stride)
            {
                int end = Math.Min(begin + maxLength, ids.Length);
                var logits = model.Logits(ids[begin..end], 1, end - begin);                // (W, V)
                // targets j ∈ [max(previousEnd, begin + 1), end), predicted at position j − 1
                for (int j = Math.Max(previousEnd, begin + 1); j < end; j++)
                    nll += TokenNll(logits.AsSpan((j - 1 - begin) * model.Config.VocabSize, model.Config.VocabSize), ids[j]);
                tokens += end - Math.Max(previousEnd, begin + 1);
                previousEnd = end;
                if (end == ids.Length) break;
            }
        }
        if (tokens == 0) throw new ArgumentException("Perplexity: no token to score (every document has fewer than two tokens)", nameof(documents));
        double mean = nll / tokens;
        return new PerplexityResult(mean, Math.Exp(mean), tokens);
    }

    /// <summary>Each text tokenised with its special tokens (BOS where the tokenizer adds one), then <see cref="OfIds"/>.</summary>
    public static PerplexityResult OfTexts(ICausalLM model, ITokenizer tokenizer, IEnumerable<string> texts, int maxLength, int stride) =>
        OfIds(model, texts.Select(t => tokenizer.Encode(t)), maxLength, stride);

    /// <summary>−log softmax(logits)[target] = logsumexp(logits) − logits[target].</summary>
    public static double TokenNll(ReadOnlySpan<float> logits, int target)
    {
        float max = TensorPrimitives.Max(logits);
        double sum = 0;
        foreach (var l in logits) sum += Math.Exp(l - max);
        return max + Math.Log(sum) - logits[target];
    }

    /// <summary>
    /// The documents of a file: with <paramref name="column"/>, the non-empty cells of that column of a tab-separated
    /// file with a header; a .jsonl file gives the string <paramref name="field"/> of each non-empty line; any other file
    /// is one document. Errors name the file and the line.
    /// </summary>
    public static IEnumerable<string> ReadDocuments(string path, string field = "text", string? column = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        if (column is not null) return new TrainingText(Column: column).Read(path).ToList();
        if (!path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)) return [TextFile.ReadAll(path)];
        var documents = new List<string>();
        int number = 0;
        foreach (var line in TextFile.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty(field, out var value) || value.ValueKind != JsonValueKind.String)
                    throw new FormatException($"{path}:{number}: expected an object with a string field \"{field}\"");
                documents.Add(value.GetString()!);
            }
            catch (JsonException e) { throw new FormatException($"{path}:{number}: not valid JSON ({e.Message})"); }
        }
        return documents;
    }
}
