using System.Globalization;
using System.Text.Json.Nodes;
using Workbench.Data.FewShot;

namespace Workbench.Evaluation;

/// <summary>
/// One scored item. <see cref="Predicted"/> is the chosen verbaliser, or null for a generated answer that matches
/// none (invalid). Log-likelihood scoring fills <see cref="LogLikelihoods"/> (one per choice) and
/// <see cref="PredictedNorm"/> (the acc_norm choice). <see cref="Tokens"/> counts the tokens the model processed.
/// </summary>
public sealed record FewShotItemResult(int Index, string Gold, string? Predicted, string Answer, double[]? LogLikelihoods,
    string? PredictedNorm, bool Truncated, long Tokens, double LatencyMs)
{
    public bool Correct => Predicted == Gold;
}

/// <summary>
/// Counts of (gold, predicted) over the items; predicted is one of <see cref="Labels"/> or <see cref="Invalid"/>.
/// Rows are gold labels, columns the predictions then "invalid".
/// </summary>
public sealed class ConfusionMatrix
{
    public const string Invalid = "invalid";

    private readonly int[,] _counts;

    public IReadOnlyList<string> Labels { get; }

    public ConfusionMatrix(IReadOnlyList<string> labels, IEnumerable<(string Gold, string? Predicted)> pairs)
    {
        Labels = labels;
        _counts = new int[labels.Count, labels.Count + 1];
        foreach (var (gold, predicted) in pairs)
        {
            int g = IndexOf(gold) ?? throw new ArgumentException($"gold label '{gold}' is not one of {string.Join(", ", labels)}");
            _counts[g, predicted is null ? labels.Count : IndexOf(predicted) ?? labels.Count]++;
        }
    }

    /// <summary>How many items with gold label <paramref name="gold"/> were predicted <paramref name="predicted"/> ("invalid" for none).</summary>
    public int this[string gold, string predicted] =>
        _counts[IndexOf(gold) ?? throw new KeyNotFoundException(gold), predicted == Invalid ? Labels.Count : IndexOf(predicted) ?? throw new KeyNotFoundException(predicted)];

    /// <summary><c>{"긍정": {"긍정": n, "부정": n, "invalid": n}, ...}</c>: gold, then predicted.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject();
        foreach (var gold in Labels)
        {
            var row = new JsonObject();
            foreach (var predicted in Labels.Append(Invalid)) row[predicted] = this[gold, predicted];
            json[gold] = row;
        }
        return json;
    }


    private int? IndexOf(string label)
    {
        for (int i = 0; i < Labels.Count; i++) if (Labels[i] == label) return i;
        return null;
    }
}

/// <summary>
/// The outcome of a few-shot run: accuracy with its 95% Wilson interval, the confusion matrix, invalid answers,
/// truncated contexts, and speed (mean latency per item, model tokens per second, wall time). For log-likelihood
/// scoring also acc_norm. <see cref="ToJson"/> is what <c>wb eval fewshot</c> prints; Reports' FewShotView renders it as tables.
/// </summary>
public sealed record FewShotResult
{
    public required string Task { get; init; }
    public required string Prompt { get; init; }
    public required FewShotScoring Scoring { get; init; }
    public required IReadOnlyList<string> Labels { get; init; }
    public required IReadOnlyList<FewShotItemResult> Items { get; init; }
    public required double WallSeconds { get; init; }
    public required int Shots { get; init; }
    /// <summary>Where the model came from, for the record (set by the caller).</summary>
    public string? Model { get; init; }
    /// <summary>The PEFT adapter folder loaded over the model, if any, for the record (set by the caller).</summary>
    public string? Adapter { get; init; }

    public int Samples => Items.Count;
    public int Correct => Items.Count(i => i.Correct);
    public double Accuracy => Samples == 0 ? double.NaN : (double)Correct / Samples;
    public (double Low, double High) Ci95 => Wilson.Interval(Correct, Samples);
    public int? CorrectNorm => Scoring == FewShotScoring.LogLikelihood ? Items.Count(i => i.PredictedNorm == i.Gold) : null;
    public double? AccuracyNorm => CorrectNorm is { } c && Samples > 0 ? (double)c / Samples : null;
    public int Invalid => Items.Count(i => i.Predicted is null);
    public int Truncated => Items.Count(i => i.Truncated);
    public long Tokens => Items.Sum(i => i.Tokens);
    public double MeanLatencyMs => Samples == 0 ? 0 : Items.Average(i => i.LatencyMs);
    /// <summary>Tokens run through the model (every forward's B·T) per second of wall time.</summary>
    public double TokensPerSecond => WallSeconds > 0 ? Tokens / WallSeconds : 0;
    public ConfusionMatrix Confusion => new(Labels, Items.Select(i => (i.Gold, i.Predicted)));

    public static FewShotResult From(FewShotTask task, string prompt, FewShotScoring scoring, IReadOnlyList<string> labels,
        IReadOnlyList<FewShotItemResult> items, double wallSeconds) => new()
    {
        Task = task.Name, Prompt = prompt, Scoring = scoring, Labels = labels.Count > 0 ? labels : task.Choices.Select(c => c.Verbalizer).ToList(),
        Items = items, WallSeconds = wallSeconds, Shots = task.NumShots,
    };

    public static string ScoringName(FewShotScoring scoring) => scoring == FewShotScoring.Generate ? "generate" : "loglik";

    /// <summary>
    /// <c>{"task","prompt","scoring","samples","accuracy","ci95":[lo,hi],"confusion":{...},"invalid","mean_latency_ms",
    /// "tokens_per_second","wall_seconds", ...}</c>; with <paramref name="items"/> also every item's result.
    /// </summary>
    public JsonObject ToJson(bool items = false)
    {
        var (lo, hi) = Ci95;
        var json = new JsonObject
        {
            ["task"] = Task,
            ["prompt"] = Prompt,
            ["scoring"] = ScoringName(Scoring),
            ["shots"] = Shots,
            ["samples"] = Samples,
            ["correct"] = Correct,
            ["accuracy"] = Number(Accuracy),
            ["ci95"] = new JsonArray(lo, hi),
            ["confusion"] = Confusion.ToJson(),
            ["invalid"] = Invalid,
            ["truncated"] = Truncated,
            ["mean_latency_ms"] = MeanLatencyMs,
            ["tokens"] = Tokens,
            ["tokens_per_second"] = TokensPerSecond,
            ["wall_seconds"] = WallSeconds,
        };
        if (AccuracyNorm is { } norm)
        {
            var (nlo, nhi) = Wilson.Interval(CorrectNorm!.Value, Samples);
            json["acc_norm"] = norm;
            json["acc_norm_ci95"] = new JsonArray(nlo, nhi);
        }
        if (Model is not null) json["model"] = Model;
        if (Adapter is not null) json["adapter"] = Adapter;
        if (items)
            json["items"] = new JsonArray(Items.Select(i => (JsonNode)new JsonObject
            {
                ["index"] = i.Index,
                ["gold"] = i.Gold,
                ["predicted"] = i.Predicted,
                ["answer"] = i.Answer,
                ["loglik"] = i.LogLikelihoods is null ? null : new JsonArray(i.LogLikelihoods.Select(x => (JsonNode?)x).ToArray()),
                ["truncated"] = i.Truncated,
                ["tokens"] = i.Tokens,
                ["latency_ms"] = i.LatencyMs,
            }).ToArray());
        return json;
    }


    public override string ToString() => $"{Task} {Prompt} {ScoringName(Scoring)}: {Headline()}";

    /// <summary>accuracy, its interval, acc_norm, invalid, truncated and speed in one line.</summary>
    public string Headline()
    {
        var c = CultureInfo.InvariantCulture;
        var (lo, hi) = Ci95;
        string norm = AccuracyNorm is { } n ? string.Format(c, ", acc_norm {0:F3}", n) : "";
        return string.Format(c, "accuracy {0:F3} ({1}/{2}, 95% CI {3:F3}–{4:F3}){5}, {6} invalid, {7} truncated, {8:F1} ms/item, {9:F0} tokens/s, {10:F1} s",
            Accuracy, Correct, Samples, lo, hi, norm, Invalid, Truncated, MeanLatencyMs, TokensPerSecond, WallSeconds);
    }

    private static JsonNode? Number(double x) => double.IsFinite(x) ? JsonValue.Create(x) : null;
}
