using TorchSharp;
using Workbench.Torch.Layers;
using static TorchSharp.torch;
using HostTensor = Workbench.Engine.Tensor;

namespace Workbench.Torch.Adapters;

/// <summary>
/// (IA)³ on libtorch, laid out as PEFT does: <c>base_layer</c> and <c>ia3_l.{adapter}</c>, a trainable vector:
///   attention modules:    y = base(x) ⊙ l,   l (out, 1) scales the output (bias included)
///   feed-forward modules: y = base(x ⊙ l),   l (1, in) scales the input
/// Several active adapters multiply their vectors (see the managed <c>Ia3Linear</c>).
/// </summary>
public sealed class TorchIa3Linear : TorchAdapterLayer
{
    private readonly Dictionary<string, AdapterTensor> vectors = [];

    public bool IsFeedforward { get; }

    public TorchIa3Linear(nn.Module<Tensor, Tensor> baseLayer, bool isFeedforward, TorchAdapterSettings settings, int siteId) : base(baseLayer, settings, siteId, "Ia3Linear")
    {
        IsFeedforward = isFeedforward;
        Add("ia3_l", new ParameterHolder());
    }

    public override IReadOnlyList<string> AdapterNames => [.. vectors.Keys];

    /// <summary>(1, in) for feed-forward modules, (out, 1) otherwise.</summary>
    public int[] VectorShape => IsFeedforward ? [1, InFeatures] : [OutFeatures, 1];

    /// <summary>Adds a vector of ones (or N(0, 1) when <paramref name="initOnes"/> is false, as PEFT) and activates it.</summary>
    public void AddAdapter(string name, bool initOnes, Random rng)
    {
        var l = AdapterTensor.Create(initOnes ? HostTensor.Ones(VectorShape) : HostTensor.Randn(rng, 1f, VectorShape), Settings.Device);
        vectors[name] = l;
        this.Child<ParameterHolder>("ia3_l").Set(name, l.Parameter);
        ActiveAdapters.Add(name);
    }

    public override IEnumerable<(string Key, AdapterTensor Tensor)> AdapterTensors(string adapter)
    {
        yield return ("ia3_l", vectors[adapter]);
    }

    protected override Tensor AdaptedForward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor? scale = null;
        foreach (var name in ActiveAdapters)
            if (vectors.TryGetValue(name, out var l)) scale = scale is null ? l.Parameter.reshape(-1) : scale * l.Parameter.reshape(-1);
        if (scale is null) return BaseLayer.call(x).MoveToOuterDisposeScope();
        // feed-forward: y = base(x ⊙ l); attention: y = base(x) ⊙ l, broadcast over the last axis
        var y = IsFeedforward ? BaseLayer.call(x * scale) : BaseLayer.call(x) * scale;
        return y.MoveToOuterDisposeScope();
    }
}
