using Workbench.Data;
using Workbench.Data.Preferences;
using Workbench.Models;

namespace Workbench.Evaluation;

/// <summary>A pair's summed completion log-probabilities and token counts under one model (what the preference losses read).</summary>
/// <param name="ChosenSequence">The chosen row's sum over every token after the first, prompt included (ORPO's NLL).</param>
public sealed record PairLogProbs(double Chosen, double Rejected, int ChosenTokens, int RejectedTokens, double ChosenSequence, int ChosenSequenceTokens);

/// <summary>
/// Scores tokenised preference pairs with any <see cref="ICausalLM"/> (a base, a base with a saved adapter, a merged model):
/// Σ log p(label_t | ids_&lt;t) over each completion's labelled tokens, and over the whole chosen sequence, one forward
/// per sequence with only the scored positions through the head. Held-out reward metrics are these sums under the tuned
/// model and under the reference, fed to the training loss (<c>Training.Preference</c>).
/// </summary>
public static class PreferenceScorer
{
    public static List<PairLogProbs> Score(ICausalLM model, IReadOnlyList<PreferenceExample> pairs, Action<int, int>? progress = null)
    {
        var scores = new List<PairLogProbs>(pairs.Count);
        foreach (var pair in pairs)
        {
            var (chosen, nc, sequence, ns) = Sums(model, pair.Chosen);
            var (rejected, nr, _, _) = Sums(model, pair.Rejected);
            scores.Add(new PairLogProbs(chosen, rejected, nc, nr, sequence, ns));
            progress?.Invoke(scores.Count, pairs.Count);
        }
        return scores;
    }

    /// <summary>One sequence: the sum and count over its labelled tokens, and over all its tokens after the first.</summary>
    private static (double Labelled, int LabelledCount, double All, int AllCount) Sums(ICausalLM model, TrainingExample e)
    {
        int n = e.Length, vocab = model.Config.VocabSize;
        var rows = Enumerable.Range(0, n - 1).ToArray();                      // position t predicts token t + 1
        var logits = model.Logits(e.InputIds, 1, n, rows: rows);              // (T − 1, V)
        double labelled = 0, all = 0;
        int count = 0;
        for (int t = 0; t < n - 1; t++)
        {
            var row = logits.AsSpan(t * vocab, vocab);
            // log softmax(x)[y] = x_y − max − log Σ exp(x − max)
            float max = System.Numerics.Tensors.TensorPrimitives.Max(row);
            double sum = 0;
            foreach (var x in row) sum += Math.Exp(x - max);
            double logp = row[e.InputIds[t + 1]] - max - Math.Log(sum);
            all += logp;
            if (e.Labels[t + 1] != TrainingExample.IgnoreIndex) { labelled += logp; count++; }
        }
        return (labelled, count, all, n - 1);
    }
}
