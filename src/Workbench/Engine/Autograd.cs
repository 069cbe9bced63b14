namespace Workbench.Engine;

/// <summary>
/// One recorded op: its inputs and a function that maps the output's gradient to each input's gradient
/// (null where an input needs none). Closures hold exactly the activations backward needs, once.
/// </summary>
internal sealed class GradNode(string op, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
{
    public readonly string Op = op;
    public readonly Tensor[] Inputs = inputs;
    public readonly Func<Tensor, Tensor?[]> Backward = backward;
}

public sealed partial class Tensor
{
    private bool requiresGrad;

    /// <summary>True for leaves marked trainable and for every op result that depends on one.</summary>
    public bool RequiresGrad
    {
        get => requiresGrad;
        set
        {
            if (Node is not null && !value) throw new InvalidOperationException("RequiresGrad: cannot clear on a non-leaf tensor; use Detach()");
            requiresGrad = value;
        }
    }

    /// <summary>Accumulated gradient of a leaf after <see cref="Backward"/>.</summary>
    public Tensor? Grad { get; set; }

    internal GradNode? Node { get; set; }
    public bool IsLeaf => Node is null;

    /// <summary>Reverse-mode differentiation from this tensor; a scalar gets a seed gradient of 1.</summary>
    public void Backward(Tensor? gradient = null) => Autograd.Backward(this, gradient);
}

public static class Autograd
{
    /// <summary>
    /// Attaches a backward function to an op's output when grad mode is on and any input requires grad.
    /// Every op calls this once, right after computing its forward result.
    /// </summary>
    public static Tensor Record(Tensor output, string op, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
    {
        if (!GradMode.Enabled) return output;
        bool any = false;
        foreach (var t in inputs) any |= t.RequiresGrad;
        if (!any) return output;
        output.Node = new GradNode(op, inputs, backward);
        output.RequiresGrad = true;
        return output;
    }

    /// <summary>
    /// New managed memory backward may allocate before it has the garbage collector reclaim what it freed. Activations
    /// and gradients die node by node as the graph is walked; left to its own budgets the collector lets gigabytes of
    /// them pile up once the live heap is large (a 7B model's weights), so backward collects at this pace itself.
    /// Arrays reused from <see cref="TensorPool"/> are not new memory.
    /// </summary>
    public const long CollectEveryBytes = 256L << 20;

    /// <summary>
    /// Runs backward from <paramref name="root"/>. Intermediate gradients live only until consumed; leaves
    /// that require grad accumulate into <see cref="Tensor.Grad"/>. The graph is freed as it is walked
    /// (like retain_graph=False), and collected every <see cref="CollectEveryBytes"/> of new allocations and, after
    /// such a walk, at its end.
    /// </summary>
    public static void Backward(Tensor root, Tensor? gradient = null)
    {
        if (!root.RequiresGrad) throw new InvalidOperationException($"Backward: {root} does not require grad");
        if (gradient is null)
        {
            if (root.Numel != 1) throw new ShapeException("Backward", $"an implicit gradient needs a scalar output, got {Shape.Format(root.Shape)}");
            gradient = Tensor.Ones(root.Shape);
        }
        else if (!Shape.SameShape(gradient.Shape, root.Shape))
            throw new ShapeException("Backward", $"gradient shape {Shape.Format(gradient.Shape)} does not match output {Shape.Format(root.Shape)}");

        var order = TopologicalOrder(root);
        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance) { [root] = gradient };
        var owned = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);

        using var _ = GradMode.NoGrad();
        long allocated = GC.GetTotalAllocatedBytes();
        bool collected = false;
        for (int i = order.Count - 1; i >= 0; i--)
        {
            if (GC.GetTotalAllocatedBytes() - allocated > CollectEveryBytes)
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
                allocated = GC.GetTotalAllocatedBytes();
                collected = true;
            }
            var t = order[i];
            order[i] = null!;                   // the walk must not keep what it has passed alive
            if (!grads.Remove(t, out var g)) continue;
            if (t.Node is null) { AccumulateLeaf(t, g, owned.Contains(g)); ReleaseIfUnused(g, grads); continue; }
            var node = t.Node;
            t.Node = null;
            // A backward may hand g itself (Add: da = db = g) or a view of it to several inputs: from here on g is
            // shared, and accumulating into it in place would change another input's pending gradient.
            owned.Remove(g);
            var inputGrads = node.Backward(g);
            for (int k = 0; k < node.Inputs.Length; k++)
            {
                var input = node.Inputs[k];
                var ig = inputGrads[k];
                if (ig is null || !input.RequiresGrad) continue;
                if (!Shape.SameShape(ig.Shape, input.Shape))
                    throw new ShapeException(node.Op + ".backward", $"gradient {Shape.Format(ig.Shape)} for input {k} of shape {Shape.Format(input.Shape)}");
                if (!grads.TryGetValue(input, out var existing)) { grads[input] = ig; continue; }
                // existing + ig: in place when this walk owns existing, else into a new pooled tensor (one pass either way)
                var sum = owned.Contains(existing) ? existing : Tensor.Uninitialized((int[])existing.Shape.Clone());
                AddInto(sum, existing, ig);
                owned.Add(sum);
                grads[input] = sum;
            }
            ReleaseIfUnused(g, grads);
        }
        // A graph large enough to have been collected during the walk is garbage now: the next forward starts clean.
        if (collected) GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
    }

    /// <summary>
    /// A consumed gradient's pooled array goes back to <see cref="TensorPool"/> unless a pending gradient shares it (a
    /// backward may hand g, or a view of it, on to its inputs). A leaf's gradient has escaped the pool already.
    /// </summary>
    private static void ReleaseIfUnused(Tensor g, Dictionary<Tensor, Tensor> grads)
    {
        if (!TensorPool.Holds(g)) return;
        foreach (var pending in grads.Values)
            if (TensorPool.SameArray(pending, g)) return;
        TensorPool.Release(g);
    }

    private static void AccumulateLeaf(Tensor leaf, Tensor g, bool owned)
    {
        if (!leaf.RequiresGrad) return;
        if (leaf.Grad is null)
        {
            leaf.Grad = owned && g.IsContiguous && g.DType == DType.F32 ? g : g.PooledClone();
            TensorPool.Escape(leaf.Grad);       // it outlives any pool scope backward runs in
        }
        else AddInto(leaf.Grad, leaf.Grad, g);
    }

    /// <summary>sum = a + b, element-wise over all cores (sum is contiguous fp32 and may be a).</summary>
    private static void AddInto(Tensor sum, Tensor a, Tensor b)
    {
        var av = Ops.ValuesOf(a);
        var bv = Ops.ValuesOf(b);
        BroadcastKernel.Fast(BinaryOp.Add, Ops.Memory(av), av.Shape, Ops.Memory(bv), bv.Shape, Ops.Memory(sum), sum.Shape);
    }

    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor t, bool expanded)>();
        stack.Push((root, false));
        while (stack.Count > 0)
        {
            var (t, expanded) = stack.Pop();
            if (expanded) { order.Add(t); continue; }
            if (!visited.Add(t)) continue;
            stack.Push((t, true));
            if (t.Node is null) continue;
            foreach (var input in t.Node.Inputs)
                if (input.RequiresGrad && !visited.Contains(input)) stack.Push((input, false));
        }
        return order;
    }
}
