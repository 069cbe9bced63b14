using Workbench.Engine;

namespace Workbench.Models;

/// <summary>Runs a model's layers in order, each optionally under activation recomputation.</summary>
internal static class DecoderStack
{
    /// <summary>
    /// x → layer(count−1)(…layer(0)(x)). With <paramref name="checkpointing"/> each layer's activations are
    /// recomputed in backward (never with a KV cache: the recomputation would append to it twice).
    /// </summary>
    public static Tensor Run(int count, Func<int, Func<Tensor, Tensor>> layer, Tensor x, bool checkpointing)
    {
        for (int i = 0; i < count; i++)
        {
            var f = layer(i);
            x = checkpointing ? Checkpoint.Run(h => f(h[0]), x) : f(x);
        }
        return x;
    }
}
