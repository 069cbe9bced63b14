using Workbench.Engine;
using Workbench.Engine.Nn;

namespace Workbench.Adapters;

/// <summary>
/// Adapter dropout, shared by the adapter layers of one model: the training flag turns it on, and the step (set by
/// the trainer before each forward, one value per micro-batch) with the seed and the layer seeds its masks, so that a
/// layer run again under gradient checkpointing, or a resumed run, draws the same mask.
/// </summary>
public sealed class AdapterDropout
{
    public bool Training { get; set; }
    public long Step { get; set; }
    public long Seed { get; init; }
}

/// <summary>
/// A frozen base linear layer wrapped by one or more named adapters of one method (PEFT's BaseTunerLayer): the base
/// sits at <c>base_layer</c> so state-dict keys match PEFT's. Adapters can be switched (<see cref="ActiveAdapters"/>),
/// disabled for a forward, merged into the base weight and unmerged.
/// </summary>
public abstract class AdapterLayer : LinearLayer
{
    protected AdapterLayer(LinearLayer baseLayer, AdapterDropout dropout, int siteId)
    {
        AddModule("base_layer", baseLayer);
        Dropout = dropout;
        SiteId = siteId;
    }

    public LinearLayer BaseLayer => Child<LinearLayer>("base_layer");
    public override int InFeatures => BaseLayer.InFeatures;
    public override int OutFeatures => BaseLayer.OutFeatures;
    public AdapterDropout Dropout { get; }
    /// <summary>A stable id of this layer's path, mixed into dropout seeds.</summary>
    public int SiteId { get; }

    /// <summary>Adapters applied in Forward, in order.</summary>
    public List<string> ActiveAdapters { get; } = [];
    /// <summary>While true, Forward is the base layer alone (unmerging first if needed, as PEFT does).</summary>
    public bool AdaptersDisabled { get; set; }
    /// <summary>Adapters whose update is currently folded into the base weight.</summary>
    public List<string> MergedAdapters { get; } = [];
    public bool Merged => MergedAdapters.Count > 0;

    public abstract IReadOnlyList<string> AdapterNames { get; }

    /// <summary>This adapter's tensors by PEFT's on-disk key relative to the layer ("lora_A.weight", "ia3_l").</summary>
    public abstract IEnumerable<(string Key, Tensor Tensor)> AdapterTensors(string adapter);

    /// <summary>Replaces the tensor saved under <paramref name="key"/> (from <see cref="AdapterTensors"/>) for one adapter.</summary>
    public abstract void LoadAdapterTensor(string adapter, string key, Tensor value);

    /// <summary>Folds the given adapters (default: the active ones) into the base weight.</summary>
    public abstract void Merge(IEnumerable<string>? adapters = null);

    /// <summary>Takes every merged adapter back out of the base weight, last merged first.</summary>
    public abstract void Unmerge();

    protected abstract Tensor AdaptedForward(Tensor x);

    public override Tensor Forward(Tensor x)
    {
        if (AdaptersDisabled)
        {
            if (Merged) Unmerge();
            return BaseLayer.Forward(x);
        }
        return Merged || ActiveAdapters.Count == 0 ? BaseLayer.Forward(x) : AdaptedForward(x);
    }

    /// <summary>The base <see cref="Linear"/> whose weight a merge rewrites; anything else (a quantised layer) is refused.</summary>
    protected Linear MergeTarget(string method)
    {
        if (BaseLayer is Linear linear) return linear;
        throw new NotSupportedException($"{method}: cannot merge into a {BaseLayer.GetType().Name} base layer " +
                                        "(4/8-bit quantised weights cannot take the update, as in PEFT); dequantise the base model first");
    }

    /// <summary>Writes merged fp32 values back in the base parameter's storage dtype.</summary>
    protected static void Store(Linear target, string name, Tensor merged, DType dtype) =>
        target.SetParameter(name, dtype == DType.F32 ? merged : merged.To(dtype));

    protected void RequireAdapter(string adapter, IReadOnlyList<string> names)
    {
        if (!names.Contains(adapter))
            throw new KeyNotFoundException($"{GetType().Name}: no adapter '{adapter}' (have {string.Join(", ", names)})");
    }
}
