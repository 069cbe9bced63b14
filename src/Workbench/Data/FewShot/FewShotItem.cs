namespace Workbench.Data.FewShot;

/// <summary>One test document and the shots drawn for it (before any prompt is applied).</summary>
public sealed record FewShotDraw(LabeledDocument Test, IReadOnlyList<LabeledDocument> Shots);

/// <summary>
/// A rendered few-shot query. For generation scoring: feed <see cref="Context"/> and compare the generated
/// word with <see cref="Gold"/>. For log-likelihood scoring (lm-eval multiple choice): score each of
/// <see cref="Requests"/>, i.e. the context with each continuation <c>target_delimiter + verbaliser</c>
/// (" 긍정", " 부정"), and pick the argmax; <see cref="GoldIndex"/> is the right one.
/// </summary>
public sealed record FewShotItem(int Index, LabeledDocument Test, IReadOnlyList<LabeledDocument> Shots, string Context,
    IReadOnlyList<string> Choices, int GoldIndex, string TargetDelimiter)
{
    public string Gold => Choices[GoldIndex];

    public IReadOnlyList<string> Continuations => Choices.Select(c => TargetDelimiter + c).ToList();

    public IReadOnlyList<(string Context, string Continuation)> Requests => Continuations.Select(c => (Context, c)).ToList();
}
