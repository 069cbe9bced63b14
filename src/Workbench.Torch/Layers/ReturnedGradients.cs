using static TorchSharp.torch;

namespace Workbench.Torch.Layers;

/// <summary>
/// The tensors a custom autograd function hands back to autograd. Autograd takes its own reference when the function
/// returns, but the .NET wrapper would hold the memory until the garbage collector finalizes it: over a 7B model's
/// backward that is every layer's input gradients (~40 MB a layer). Each backward drops the wrappers the previous one
/// handed back, which autograd holds by then.
/// </summary>
internal static class ReturnedGradients
{
    [ThreadStatic] private static List<Tensor>? handedBack;

    /// <summary>Disposes the wrappers of the gradients earlier backward calls on this thread returned.</summary>
    public static void DropEarlier()
    {
        if (handedBack is null) return;
        foreach (var t in handedBack) t.Dispose();
        handedBack.Clear();
    }

    /// <summary>Marks <paramref name="gradient"/> (already out of every dispose scope) as returned; it is disposed by a later <see cref="DropEarlier"/>.</summary>
    public static Tensor Hand(Tensor gradient)
    {
        (handedBack ??= []).Add(gradient);
        return gradient;
    }
}
