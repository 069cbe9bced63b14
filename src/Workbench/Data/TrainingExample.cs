namespace Workbench.Data;

/// <summary>
/// One tokenised training sequence. Labels follow the Hugging Face convention: unshifted (label[t] is the
/// token at t; the loss shifts), <see cref="IgnoreIndex"/> (−100) where no loss is taken (prompt tokens when
/// training on completions only, padding).
/// </summary>
public sealed record TrainingExample
{
    public const int IgnoreIndex = -100;

    public int[] InputIds { get; }
    public int[] Labels { get; }

    public TrainingExample(int[] inputIds, int[] labels)
    {
        if (inputIds.Length != labels.Length)
            throw new ArgumentException($"TrainingExample: {inputIds.Length} input ids but {labels.Length} labels");
        InputIds = inputIds;
        Labels = labels;
    }

    public int Length => InputIds.Length;

    /// <summary>Number of positions that carry a loss.</summary>
    public int TargetCount => Labels.Count(l => l != IgnoreIndex);
}
