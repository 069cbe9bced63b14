namespace Workbench.Data;

/// <summary>
/// A right-padded micro-batch. Arrays are row-major [B, T]: element (b, t) is at <c>b * T + t</c>.
/// Padding positions have input id = pad id, label −100 and attention mask 0; real tokens have mask 1.
/// </summary>
public sealed class Batch
{
    public int BatchSize { get; }
    public int Length { get; }
    public int[] InputIds { get; }        // [B, T]
    public int[] Labels { get; }          // [B, T]
    public int[] AttentionMask { get; }   // [B, T]
    /// <summary>Which examples (indices into the batcher's list) fill the rows.</summary>
    public int[] ExampleIndices { get; }

    Batch(int b, int t, int[] ids, int[] labels, int[] mask, int[] indices)
    {
        BatchSize = b; Length = t; InputIds = ids; Labels = labels; AttentionMask = mask; ExampleIndices = indices;
    }

    public int TargetCount => Labels.Count(l => l != TrainingExample.IgnoreIndex);

    /// <summary>Right-pads the examples to <paramref name="padTo"/> or, when null, to the longest one.</summary>
    public static Batch Collate(IReadOnlyList<TrainingExample> examples, int padId, int? padTo = null, int[]? indices = null)
    {
        if (examples.Count == 0) throw new ArgumentException("Batch.Collate: no examples");
        int longest = examples.Max(e => e.Length);
        int T = padTo ?? longest;
        if (longest > T) throw new ArgumentException($"Batch.Collate: an example has {longest} tokens, more than the padded length {T}");
        int B = examples.Count;
        var ids = new int[B * T];
        var labels = new int[B * T];
        var mask = new int[B * T];
        for (int b = 0; b < B; b++)
        {
            var e = examples[b];
            var row = b * T;
            e.InputIds.CopyTo(ids, row);
            e.Labels.CopyTo(labels, row);
            Array.Fill(mask, 1, row, e.Length);
            Array.Fill(ids, padId, row + e.Length, T - e.Length);
            Array.Fill(labels, TrainingExample.IgnoreIndex, row + e.Length, T - e.Length);
        }
        return new Batch(B, T, ids, labels, mask, indices ?? Enumerable.Range(0, B).ToArray());
    }
}
