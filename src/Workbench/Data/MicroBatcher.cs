namespace Workbench.Data;

/// <summary>
/// Splits examples into right-padded micro-batches of <c>batchSize</c>. With <c>shuffle</c>, each epoch
/// visits the examples in a Fisher–Yates order drawn from <see cref="SplitMix64"/> seeded with
/// <c>seed ^ SplitMix64(epoch + 1).NextUInt64()</c>: the same seed and epoch give the same batches on every
/// run and platform; different epochs give different orders. The last, short batch is kept unless
/// <c>dropLast</c>.
/// </summary>
public sealed class MicroBatcher
{
    readonly IReadOnlyList<TrainingExample> _examples;

    public int BatchSize { get; }
    public int PadId { get; }
    public ulong Seed { get; }
    public bool Shuffle { get; }
    public bool DropLast { get; }
    /// <summary>Pad every batch to this length; null pads each batch to its longest example.</summary>
    public int? PadTo { get; }

    public MicroBatcher(IReadOnlyList<TrainingExample> examples, int batchSize, int padId, ulong seed,
        bool shuffle = true, bool dropLast = false, int? padTo = null)
    {
        if (batchSize <= 0) throw new ArgumentException($"MicroBatcher: batch size must be positive, got {batchSize}");
        _examples = examples;
        BatchSize = batchSize; PadId = padId; Seed = seed; Shuffle = shuffle; DropLast = dropLast; PadTo = padTo;
    }

    public int BatchesPerEpoch => DropLast ? _examples.Count / BatchSize : (_examples.Count + BatchSize - 1) / BatchSize;

    /// <summary>The order in which epoch <paramref name="epoch"/> visits the examples.</summary>
    public int[] Order(int epoch)
    {
        var order = Enumerable.Range(0, _examples.Count).ToArray();
        if (Shuffle) new SplitMix64(Seed ^ new SplitMix64((ulong)epoch + 1).NextUInt64()).Shuffle<int>(order);
        return order;
    }

    public IEnumerable<Batch> Epoch(int epoch)
    {
        var order = Order(epoch);
        for (int b = 0; b < BatchesPerEpoch; b++)
        {
            var idx = order.AsSpan(b * BatchSize, Math.Min(BatchSize, order.Length - b * BatchSize)).ToArray();
            yield return Batch.Collate(idx.Select(i => _examples[i]).ToList(), PadId, PadTo, idx);
        }
    }
}
