using System.Net;
using System.Text;
using Workbench.Evaluation;

namespace Workbench.Reports;

/// <summary>
/// A few-shot result as a notebook shows it: the headline (accuracy, 95% interval, speed), the summary row and
/// the confusion matrix. Lives here, above Evaluation, so results know nothing of how they are drawn.
/// </summary>
public sealed class FewShotView(FewShotResult result) : IHtmlRenderable
{
    /// <summary>One row per result: task, prompt, scoring, n, accuracy, 95% CI, acc_norm, invalid, truncated, ms/item, tokens/s.</summary>
    public static Table SummaryTable(IEnumerable<FewShotResult> results)
    {
        var table = new Table("task", "prompt", "scoring", "n", "accuracy", "ci95 low", "ci95 high", "acc_norm", "invalid", "truncated", "ms/item", "tokens/s");
        foreach (var r in results)
            table.AddRow(r.Task, r.Prompt, FewShotResult.ScoringName(r.Scoring), r.Samples, r.Accuracy, r.Ci95.Low, r.Ci95.High, r.AccuracyNorm,
                r.Invalid, r.Truncated, r.MeanLatencyMs, r.TokensPerSecond);
        return table;
    }

    /// <summary>Rows are gold labels; columns the predictions, then "invalid".</summary>
    public static Table ConfusionTable(ConfusionMatrix confusion)
    {
        var table = new Table(["gold \\ predicted", .. confusion.Labels, ConfusionMatrix.Invalid]);
        foreach (var gold in confusion.Labels)
            table.AddRow([gold, .. confusion.Labels.Append(ConfusionMatrix.Invalid).Select(p => (object)confusion[gold, p])]);
        return table;
    }

    public string ToHtml() => new StringBuilder()
        .Append("<div class=\"wb-fewshot\">\n<p><b>")
        .Append(WebUtility.HtmlEncode($"{result.Task} / {result.Prompt} / {FewShotResult.ScoringName(result.Scoring)}")).Append("</b>: ")
        .Append(WebUtility.HtmlEncode(result.Headline())).Append("</p>\n")
        .Append(SummaryTable([result]).ToHtml()).Append('\n')
        .Append(ConfusionTable(result.Confusion).ToHtml()).Append("\n</div>").ToString();

    public override string ToString() => $"{result}\n\n{ConfusionTable(result.Confusion).ToMarkdown()}";
}
