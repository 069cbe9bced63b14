using Workbench.Engine;
using Workbench.Engine.Nn;

namespace Workbench.Adapters.Ia3;

/// <summary>
/// (IA)³ on a linear layer, as PEFT lays it out: <c>base_layer</c> and <c>ia3_l.{adapter}</c>, a trainable vector
/// initialised to ones.
///   attention modules:    y = base(x) ⊙ l,   l (out, 1) scales the output (bias included)
///   feed-forward modules: y = base(x ⊙ l),   l (1, in) scales the input
/// Several active adapters multiply their vectors. On a fused query_key_value this rescales Q as well as K and V
/// (PEFT behaves the same; the paper scales only K and V).
/// </summary>
public sealed class Ia3Linear : AdapterLayer
{
    /// <summary>Merge/unmerge divide by l + this, as PEFT does, so a zero entry does not divide by zero.</summary>
    public const float UnmergeEpsilon = 1e-8f;

    public bool IsFeedforward { get; }
    public ParameterDict Ia3L => Child<ParameterDict>("ia3_l");
    public override IReadOnlyList<string> AdapterNames => Ia3L.Keys;

    public Ia3Linear(LinearLayer baseLayer, bool isFeedforward, AdapterDropout dropout, int siteId) : base(baseLayer, dropout, siteId)
    {
        IsFeedforward = isFeedforward;
        AddModule("ia3_l", new ParameterDict());
    }

    /// <summary>The vector's shape: (1, in) for feed-forward modules, (out, 1) otherwise.</summary>
    public int[] VectorShape => IsFeedforward ? [1, InFeatures] : [OutFeatures, 1];

    /// <summary>Adds a trainable vector (ones, or N(0, 1) when <paramref name="initOnes"/> is false) and activates it.</summary>
    public void AddAdapter(string name, bool initOnes, Random rng)
    {
        var l = initOnes ? Tensor.Ones(VectorShape) : Tensor.Randn(rng, 1f, VectorShape);
        l.RequiresGrad = true;
        Ia3L.Add(name, l);
        ActiveAdapters.Add(name);
    }

    public override IEnumerable<(string Key, Tensor Tensor)> AdapterTensors(string adapter)
    {
        RequireAdapter(adapter, AdapterNames);
        yield return ("ia3_l", Ia3L[adapter]);
    }

    public override void LoadAdapterTensor(string adapter, string key, Tensor value)
    {
        RequireAdapter(adapter, AdapterNames);
        if (key != "ia3_l") throw new KeyNotFoundException($"Ia3Linear: no adapter tensor '{key}'");
        var copy = value.To(DType.F32).Clone();
        copy.RequiresGrad = Ia3L[adapter].RequiresGrad;
        Ia3L.SetParameter(adapter, copy);
    }

    protected override Tensor AdaptedForward(Tensor x)
    {
        Tensor? scale = null;
        foreach (var name in ActiveAdapters)
        {
            if (!Ia3L.Contains(name)) continue;
            var l = Ia3L[name].Reshape(-1);                                 // (out) or (in)
            scale = scale is null ? l : Ops.Mul(scale, l);
        }
        if (scale is null) return BaseLayer.Forward(x);
        // feed-forward: y = base(x ⊙ l); attention: y = base(x) ⊙ l, broadcast over the last axis
        return IsFeedforward ? BaseLayer.Forward(Ops.Mul(x, scale)) : Ops.Mul(BaseLayer.Forward(x), scale);
    }

    public override void Merge(IEnumerable<string>? adapters = null)
    {
        var target = MergeTarget("IA3 merge");
        foreach (var name in (adapters ?? ActiveAdapters).ToList())
        {
            RequireAdapter(name, AdapterNames);
            if (MergedAdapters.Contains(name)) continue;
            Rescale(target, Ia3L[name], divide: false);
            MergedAdapters.Add(name);
        }
    }

    public override void Unmerge()
    {
        var target = MergeTarget("IA3 unmerge");
        while (MergedAdapters.Count > 0)
        {
            var name = MergedAdapters[^1];
            MergedAdapters.RemoveAt(MergedAdapters.Count - 1);
            Rescale(target, Ia3L[name], divide: true);
        }
    }

    /// <summary>
    /// Attention: W[o, :] ← W[o, :]·l_o and b_o ← b_o·l_o; feed-forward: W[:, i] ← W[:, i]·l_i.
    /// Unmerging divides by l + 1e-8 instead.
    /// </summary>
    private void Rescale(Linear target, Tensor l, bool divide)
    {
        using var _ = GradMode.NoGrad();
        var factor = divide ? Ops.AddScalar(l, UnmergeEpsilon) : l.Detach();   // (out, 1) or (1, in): broadcasts over W [out, in]
        Tensor Apply(Tensor w, Tensor f) => divide ? Ops.Div(w, f) : Ops.Mul(w, f);
        Store(target, "weight", Apply(target.Weight, factor), target.Weight.DType);
        if (!IsFeedforward && target.Bias is { } bias)
            Store(target, "bias", Apply(bias, factor.Reshape(-1)), bias.DType);
    }
}
