using Workbench.Engine;
using Workbench.Tests.Support;

namespace Workbench.Tests.Engine;

public class CheckpointTests
{
    // Embedding → RoPE → attention against a captured trainable key/value tensor → cross-entropy.
    private const int T = 6, D = 8, Vocab = 12;
    private static readonly int[] Ids = [3, 1, 4, 1, 5, 9], Targets = [1, 4, 1, 5, 9, 2];
    private static readonly RopeCache Cache = new(D, 4, 10000f, 16);

    private static (Tensor loss, Tensor embedding, Tensor memory) Loss(bool checkpoint)
    {
        var rng = new Random(1);
        var embedding = Tensor.Randn(rng, 1f, Vocab, 2 * D);                  // [V, H·D], H = 2
        var memory = Tensor.Randn(rng, 1f, 1, 1, T, D);                       // [1, 1, T, D] trainable keys and values
        embedding.RequiresGrad = memory.RequiresGrad = true;

        var x = Ops.Embedding(embedding, Ids, 1, T).Reshape(1, T, 2, D).Transpose(1, 2);   // [1, 2, T, D]
        Tensor Block(Tensor[] inputs) =>
            Ops.ScaledDotProductAttention(inputs[0].Rope(Cache), memory.Rope(Cache), memory);
        var h = checkpoint ? Checkpoint.Run(Block, x) : Block([x]);           // [1, 2, T, D]
        var logits = h.Transpose(1, 2).Reshape(T, 2 * D).Narrow(1, 0, Vocab); // [T, V]
        return (Ops.CrossEntropy(logits, Targets), embedding, memory);
    }

    [Fact]
    public void GradientsWithAndWithoutCheckpointingAreIdentical()
    {
        var (plainLoss, plainEmbedding, plainMemory) = Loss(checkpoint: false);
        plainLoss.Backward();
        var (loss, embedding, memory) = Loss(checkpoint: true);
        Assert.Equal(plainLoss.Item(), loss.Item());
        loss.Backward();
        Assert.Equal(plainEmbedding.Grad!.ToArray(), embedding.Grad!.ToArray());
        Assert.Equal(plainMemory.Grad!.ToArray(), memory.Grad!.ToArray());
        Assert.Contains(memory.Grad!.ToArray(), g => g != 0);
    }

    [Fact]
    public void BlockThatReturnsItsInputLeavesTheInputALeaf()
    {
        var x = Tensor.Randn(new Random(2), 1f, 1, 1, 2, 4);
        x.RequiresGrad = true;
        var y = Checkpoint.Run(inputs => inputs[0], x);
        Assert.True(x.IsLeaf);
        y.Backward(Tensor.Ones(1, 1, 2, 4));
        Assert.Equal(Enumerable.Repeat(1f, 8), x.Grad!.ToArray());
    }
}
