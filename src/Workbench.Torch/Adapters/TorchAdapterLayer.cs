using TorchSharp;
using Workbench.Engine;
using Workbench.Torch.Layers;
using static TorchSharp.torch;
using HostTensor = Workbench.Engine.Tensor;

namespace Workbench.Torch.Adapters;

/// <summary>
/// What the adapter layers of one model share: the training flag (dropout on), the step that seeds dropout masks (one
/// value per micro-batch, so a layer recomputed under gradient checkpointing draws the same mask), the seed, and the
/// device their parameters live on.
/// </summary>
public sealed class TorchAdapterSettings
{
    public bool Training { get; set; }
    public long Step { get; set; }
    public long Seed { get; init; }
    public required Device Device { get; init; }
}

/// <summary>
/// A trainable adapter tensor: a libtorch parameter and, on the CPU, the engine's host tensor over the same float32
/// array (checkpoints read and write it in place); elsewhere the host tensor is a mirror filled on request.
/// </summary>
public sealed record AdapterTensor(Parameter Parameter, HostTensor Host)
{
    public static AdapterTensor Create(HostTensor initial, Device device, bool requiresGrad = true)
    {
        var (t, host) = TorchTensors.Shared(initial.ToArray(), (int[])initial.Shape.Clone(), device);
        return new AdapterTensor(new Parameter(t, requiresGrad), host);
    }

    /// <summary>Whether <see cref="Host"/> is the parameter's own memory.</summary>
    public bool Shared => Parameter.device_type == DeviceType.CPU;

    /// <summary>Copies <paramref name="value"/> (any dtype, read as float32) into the parameter.</summary>
    public void Load(HostTensor value)
    {
        value.Contiguous().ToArray().CopyTo(Host.Span);
        if (!Shared) PushHost();
    }

    /// <summary>The host tensor with the parameter's current values.</summary>
    public HostTensor PullHost()
    {
        if (!Shared) TorchTensors.ToFloats(Parameter).CopyTo(Host.Span);
        return Host;
    }

    /// <summary>Writes the host tensor's values into the parameter (after a checkpoint was loaded into it).</summary>
    public void PushHost()
    {
        if (Shared) return;
        using var _ = no_grad();
        using var values = TorchTensors.FromHost(Host, Parameter.device);
        Parameter.copy_(values);
    }
}

/// <summary>Holds parameters by name (an adapter's tensors under "lora_A.{adapter}", "ia3_l").</summary>
public sealed class ParameterHolder() : TorchModule("ParameterHolder")
{
    public void Set(string name, Parameter p)
    {
        if (_internal_params.ContainsKey(name)) _internal_params.Remove(name);
        register_parameter(name, p);
    }
}

/// <summary>
/// A frozen base linear layer wrapped by named adapters of one method (PEFT's BaseTunerLayer): the base at
/// <c>base_layer</c>, so parameter names match PEFT's. Adapters can be switched (<see cref="ActiveAdapters"/>) or
/// disabled for a forward. The base may be any TorchSharp linear layer: ours, a 4-bit one, or TorchSharp's own.
/// </summary>
public abstract class TorchAdapterLayer : TorchLayer, ITorchLinear
{
    protected TorchAdapterLayer(nn.Module<Tensor, Tensor> baseLayer, TorchAdapterSettings settings, int siteId, string name) : base(name)
    {
        (InFeatures, OutFeatures, HasBias) = LinearShape(baseLayer)
            ?? throw new ArgumentException($"{baseLayer.GetType().Name} is not a linear layer an adapter can wrap");
        Add("base_layer", baseLayer);
        (Settings, SiteId) = (settings, siteId);
    }

    public nn.Module<Tensor, Tensor> BaseLayer => this.Child<nn.Module<Tensor, Tensor>>("base_layer");
    public int InFeatures { get; }
    public int OutFeatures { get; }
    public bool HasBias { get; }
    public TorchAdapterSettings Settings { get; }
    /// <summary>A stable id of this layer's path (<see cref="Workbench.Engine.StableHash.Of"/>), mixed into dropout seeds.</summary>
    public int SiteId { get; }

    public List<string> ActiveAdapters { get; } = [];
    public bool AdaptersDisabled { get; set; }
    public abstract IReadOnlyList<string> AdapterNames { get; }

    /// <summary>This adapter's tensors by PEFT's on-disk key relative to the layer ("lora_A.weight", "ia3_l").</summary>
    public abstract IEnumerable<(string Key, AdapterTensor Tensor)> AdapterTensors(string adapter);

    protected abstract Tensor AdaptedForward(Tensor x);

    public override Tensor forward(Tensor x) =>
        AdaptersDisabled || ActiveAdapters.Count == 0 ? BaseLayer.call(x) : AdaptedForward(x);

    public Tensor DenseWeight() => BaseLayer is ITorchLinear linear ? linear.DenseWeight()
        : BaseLayer.get_parameter("weight")!.to(ScalarType.Float32);

    /// <summary>x with dropout p: x / (1 − p) where a uniform draw from the seeded generator is ≥ p, else 0.</summary>
    protected Tensor Dropout(Tensor x, float p, int adapterIndex)
    {
        if (!Settings.Training || p == 0) return x;
        using var generator = new Generator(unchecked((ulong)DropoutMask.Seed(Settings.Seed, Settings.Step, ((long)SiteId << 8) + adapterIndex)), x.device);
        using var keep = rand(x.shape, generator: generator, device: x.device).ge(p);
        return x * keep / (1 - p);
    }

    /// <summary>(in, out, has bias) of a linear layer: ours, or TorchSharp's nn.Linear; null for anything else.</summary>
    public static (int In, int Out, bool Bias)? LinearShape(nn.Module module) => module switch
    {
        ITorchLinear l => (l.InFeatures, l.OutFeatures, l.HasBias),
        TorchSharp.Modules.Linear l => ((int)l.in_features, (int)l.out_features, l.bias is not null),
        _ => null,
    };
}
