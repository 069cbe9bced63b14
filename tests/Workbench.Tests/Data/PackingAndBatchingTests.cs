using Workbench.Data;
using Workbench.Tests.Support;

namespace Workbench.Tests.Data;

public class PackingAndBatchingTests
{
    const int Ignore = TrainingExample.IgnoreIndex;
    const int Eos = ByteTokenizer.Eos, Pad = ByteTokenizer.Pad;

    static TrainingExample Ex(int[] ids, int promptLen) => new(ids, ids.Select((t, i) => i < promptLen ? Ignore : t).ToArray());

    [Fact]
    public void CollatePadsOnTheRightWithMaskAndIgnoredLabels()
    {
        var b = Batch.Collate([Ex([1, 2, 3], 1), Ex([4], 0)], Pad);
        Assert.Equal((2, 3), (b.BatchSize, b.Length));
        Assert.Equal([1, 2, 3, 4, Pad, Pad], b.InputIds);
        Assert.Equal([Ignore, 2, 3, 4, Ignore, Ignore], b.Labels);
        Assert.Equal([1, 1, 1, 1, 0, 0], b.AttentionMask);
        Assert.Equal(3, b.TargetCount);

        var fixedLen = Batch.Collate([Ex([1, 2], 0)], Pad, padTo: 4);
        Assert.Equal([1, 2, Pad, Pad], fixedLen.InputIds);
        Assert.Contains("more than the padded length 1", Assert.Throws<ArgumentException>(() => Batch.Collate([Ex([1, 2], 0)], Pad, padTo: 1)).Message);
    }

    [Fact]
    public void PackingLosesNoTokenAndKeepsLabelsAligned()
    {
        var examples = new[] { Ex([10, 11, 12, Eos], 2), Ex([20, 21], 1), Ex([30, 31, 32, 33, 34], 5), Ex([40], 0) };
        var blocks = Packer.Pack(examples, blockSize: 4, eosId: Eos);
        // ex0 already ends with EOS; ex1 gets EOS labelled EOS (its last token is a target); ex2's last label is
        // ignored, so its separator is ignored too; ex3 gets a labelled EOS.
        int[] ids = [10, 11, 12, Eos, 20, 21, Eos, 30, 31, 32, 33, 34, Eos, 40, Eos];
        int[] labels = [Ignore, Ignore, 12, Eos, Ignore, 21, Eos, Ignore, Ignore, Ignore, Ignore, Ignore, Ignore, 40, Eos];
        Assert.Equal([4, 4, 4, 3], blocks.Select(b => b.Length));
        Assert.Equal(ids, blocks.SelectMany(b => b.InputIds));
        Assert.Equal(labels, blocks.SelectMany(b => b.Labels));

        var dropped = Packer.Pack(examples, blockSize: 4, eosId: Eos, dropRemainder: true);
        Assert.Equal(3, dropped.Count);
        Assert.Equal(ids[..12], dropped.SelectMany(b => b.InputIds));

        var batch = Batch.Collate(blocks, Pad);
        Assert.Equal([Eos, 40, Eos, Pad], batch.InputIds[12..16]);   // the short last block is padded
        Assert.Equal([1, 1, 1, 0], batch.AttentionMask[12..16]);
    }

    [Fact]
    public void PackingEncodedSampleKeepsEveryToken()
    {
        var tok = new ByteTokenizer();
        var records = InstructionFile.Load(RepoPaths.Data("koalpaca/koalpaca_sample.jsonl"), PromptTemplates.KoAlpaca.Schema, BadRecordPolicy.Fail).Take(20);
        var examples = ExampleEncoder.EncodeAll(tok, PromptTemplates.KoAlpaca, records, new EncodeOptions(4096));
        var blocks = Packer.Pack(examples, 256, Eos);
        // nothing is truncated, so every example ends with EOS and packing is plain concatenation
        Assert.Equal(examples.SelectMany(e => e.InputIds), blocks.SelectMany(b => b.InputIds));
        Assert.Equal(examples.SelectMany(e => e.Labels), blocks.SelectMany(b => b.Labels));
        Assert.All(blocks.SkipLast(1), b => Assert.Equal(256, b.Length));
    }

    [Fact]
    public void SplitMix64MatchesTheReferenceSequence()
    {
        // Vigna's splitmix64.c: state 0 → e220a8397b1dcdaf, 6e789e6aa1b965f4, 06c45d188009454f
        var g = new SplitMix64(0);
        Assert.Equal([0xE220A8397B1DCDAFUL, 0x6E789E6AA1B965F4UL, 0x06C45D188009454FUL], new[] { g.NextUInt64(), g.NextUInt64(), g.NextUInt64() });
        var h = new SplitMix64(1234567);
        Assert.Equal([6457827717110365317UL, 3203168211198807973UL, 9817491932198370423UL], new[] { h.NextUInt64(), h.NextUInt64(), h.NextUInt64() });
    }

    [Fact]
    public void SeededShuffleIsStable()
    {
        // expected orders from an independent Python transcription (splitmix64 + Lemire + Fisher–Yates from the back)
        var a = Enumerable.Range(0, 10).ToArray();
        new SplitMix64(42).Shuffle<int>(a);
        Assert.Equal([8, 3, 6, 5, 4, 0, 9, 2, 1, 7], a);

        var examples = Enumerable.Range(0, 10).Select(i => Ex([i + 1], 0)).ToList();
        var batcher = new MicroBatcher(examples, batchSize: 4, padId: Pad, seed: 7);
        Assert.Equal([3, 2, 9, 5, 1, 7, 0, 8, 6, 4], batcher.Order(0));
        Assert.Equal([0, 6, 5, 9, 3, 7, 8, 4, 2, 1], batcher.Order(1));
    }

    [Fact]
    public void MicroBatcherCoversEveryExampleOncePerEpoch()
    {
        var examples = Enumerable.Range(0, 10).Select(i => Ex(Enumerable.Repeat(i + 1, i % 3 + 1).ToArray(), 0)).ToList();
        var batcher = new MicroBatcher(examples, batchSize: 4, padId: Pad, seed: 7);
        var epoch0 = batcher.Epoch(0).ToList();
        Assert.Equal([4, 4, 2], epoch0.Select(b => b.BatchSize));
        Assert.Equal(batcher.Order(0), epoch0.SelectMany(b => b.ExampleIndices));
        Assert.Equal(Enumerable.Range(0, 10), epoch0.SelectMany(b => b.ExampleIndices).Order());
        foreach (var b in epoch0)
            for (int r = 0; r < b.BatchSize; r++)
                Assert.Equal(b.ExampleIndices[r] + 1, b.InputIds[r * b.Length]);   // rows hold the examples they name

        var again = new MicroBatcher(examples, 4, Pad, seed: 7).Epoch(0).ToList();
        Assert.Equal(epoch0.SelectMany(b => b.InputIds), again.SelectMany(b => b.InputIds));
        Assert.NotEqual(batcher.Order(0), new MicroBatcher(examples, 4, Pad, seed: 8).Order(0));

        Assert.Equal(2, new MicroBatcher(examples, 4, Pad, 7, dropLast: true).Epoch(0).Count());
        Assert.Equal(Enumerable.Range(0, 10), new MicroBatcher(examples, 4, Pad, 7, shuffle: false).Order(3));
    }
}
