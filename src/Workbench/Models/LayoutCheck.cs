using Workbench.Formats;

namespace Workbench.Models;

/// <summary>How the tensors of a checkpoint compare with the parameters a config implies.</summary>
public sealed record LayoutComparison(
    IReadOnlyList<ParameterSpec> Missing,
    IReadOnlyList<SafeTensorsEntry> Unexpected,
    IReadOnlyList<(ParameterSpec Expected, SafeTensorsEntry Actual)> WrongShape,
    IReadOnlyList<SafeTensorsEntry> Ignored)
{
    public bool Matches => Missing.Count == 0 && Unexpected.Count == 0 && WrongShape.Count == 0;

    /// <summary>One line per problem, naming the tensor and what was expected.</summary>
    public IEnumerable<string> Problems() =>
        Missing.Select(p => $"missing: {p.Name} (expected {Engine.Shape.Format(p.Shape)})")
            .Concat(WrongShape.Select(w => $"wrong shape: {w.Expected.Name} is {Engine.Shape.Format(w.Actual.Shape)}, expected {Engine.Shape.Format(w.Expected.Shape)}"))
            .Concat(Unexpected.Select(u => $"unexpected: {u.Name} {u.DType}{Engine.Shape.Format(u.Shape)}"));
}

/// <summary>Compares checkpoint tensor names and shapes with a <see cref="ParameterLayout"/>.</summary>
public static class LayoutCheck
{
    // Buffers older transformers versions saved with the weights; they are not parameters.
    private static readonly string[] BufferSuffixes = [".attention.bias", ".attention.masked_bias", ".rotary_emb.inv_freq"];

    public static LayoutComparison Compare(ParameterLayout layout, IEnumerable<SafeTensorsEntry> entries)
    {
        var expected = layout.Parameters.ToDictionary(p => p.Name);
        var seen = new HashSet<string>();
        var unexpected = new List<SafeTensorsEntry>();
        var wrongShape = new List<(ParameterSpec, SafeTensorsEntry)>();
        var ignored = new List<SafeTensorsEntry>();
        var embedding = layout.Parameters[0];
        foreach (var e in entries)
        {
            if (expected.TryGetValue(e.Name, out var spec))
            {
                seen.Add(e.Name);
                if (!spec.Shape.AsSpan().SequenceEqual(e.Shape)) wrongShape.Add((spec, e));
            }
            else if (BufferSuffixes.Any(e.Name.EndsWith) || IsTiedHeadCopy(layout, embedding, e)) ignored.Add(e);
            else unexpected.Add(e);
        }
        var missing = layout.Parameters.Where(p => !seen.Contains(p.Name)).ToList();
        return new LayoutComparison(missing, unexpected, wrongShape, ignored);
    }

    /// <summary>Some tied checkpoints also store the head; transformers ignores it in favour of the embedding.</summary>
    private static bool IsTiedHeadCopy(ParameterLayout layout, ParameterSpec embedding, SafeTensorsEntry e) =>
        layout.Config.TieWordEmbeddings && e.Name is "lm_head.weight" or "embed_out.weight" && embedding.Shape.AsSpan().SequenceEqual(e.Shape);
}
