using TorchSharp;
using Workbench.Adapters;
using Workbench.Adapters.Ia3;
using Workbench.Adapters.Lora;
using Workbench.Models;
using Workbench.Torch.Layers;
using Workbench.Torch.Models;
using static TorchSharp.torch;
using HostTensor = Workbench.Engine.Tensor;

namespace Workbench.Torch.Adapters;

/// <summary>
/// PEFT's PeftModel for any TorchSharp module: adapters of one method injected by PEFT's <c>target_modules</c> rules
/// (names, suffixes, a regular expression or "all-linear", resolved by the same <see cref="TargetResolver"/> as the
/// managed engine) into the linear layers found by path — ours, 4-bit ones or TorchSharp's own <c>nn.Linear</c> —
/// saved and loaded as PEFT files (<see cref="TorchPeftFiles"/>). Several named adapters may be loaded; one is active.
/// modules_to_save (and LoRA's bias modes) replace the named parameters by trainable float32 copies.
/// </summary>
public sealed class TorchPeftModel
{
    private readonly Dictionary<string, AdapterConfig> configs = [];
    private readonly List<string> order = [];
    private readonly Dictionary<string, AdapterTensor> trainedBase = [];

    public nn.Module Model { get; }
    public string ModelType { get; }
    public TorchAdapterSettings Settings { get; }
    public string ActiveAdapter { get; private set; } = "";
    public IReadOnlyList<string> AdapterNames => order;

    public AdapterConfig Config(string adapter) => configs.TryGetValue(adapter, out var c) ? c
        : throw new KeyNotFoundException($"TorchPeftModel: no adapter '{adapter}' (have {string.Join(", ", order)})");

    private TorchPeftModel(nn.Module model, string modelType, TorchAdapterSettings settings) => (Model, ModelType, Settings) = (model, modelType, settings);

    /// <summary>
    /// Freezes <paramref name="model"/> and injects a first adapter (get_peft_model). The model type (for default
    /// targets) and device come from the model when it is one of ours; <paramref name="seed"/> draws the initial values
    /// (the same as the managed engine's for the same seed) and the dropout masks.
    /// </summary>
    public static TorchPeftModel Create(nn.Module model, AdapterConfig config, string adapterName = "default", long seed = 0, string? modelType = null, Device? device = null)
    {
        var type = modelType ?? (model as ICausalLM)?.Config.ModelType ?? throw new ArgumentException("TorchPeftModel: the model type is unknown; pass modelType");
        foreach (var p in model.parameters()) p.requires_grad_(false);
        var peft = new TorchPeftModel(model, type, new TorchAdapterSettings { Seed = seed, Device = device ?? (model as TorchCausalLM)?.Device ?? CPU });
        peft.AddAdapter(adapterName, config);
        return peft;
    }

    /// <summary>A saved PEFT adapter folder applied to <paramref name="model"/> (PeftModel.from_pretrained).</summary>
    public static TorchPeftModel Load(nn.Module model, string directory, string adapterName = "default", bool isTrainable = false, string? modelType = null) =>
        TorchPeftFiles.Load(model, directory, adapterName, isTrainable, modelType);

    /// <summary>Adds a saved adapter under <paramref name="adapterName"/>; it becomes the active one (load_adapter).</summary>
    public void LoadAdapter(string directory, string adapterName, bool isTrainable = false) => TorchPeftFiles.LoadAdapter(this, directory, adapterName, isTrainable);

    /// <summary>Writes every adapter (or the given ones) as PEFT files; returns the folders written.</summary>
    public IReadOnlyList<string> Save(string directory, IEnumerable<string>? adapters = null) => TorchPeftFiles.Save(this, directory, adapters);

    /// <summary>Injects another adapter of the same method; it is trainable (unless in inference mode) and becomes the active one.</summary>
    public void AddAdapter(string name, AdapterConfig config)
    {
        if (configs.ContainsKey(name)) throw new ArgumentException($"TorchPeftModel: adapter '{name}' already exists");
        if (order.Count > 0 && configs[order[0]].PeftType != config.PeftType)
            throw new ArgumentException($"TorchPeftModel: cannot mix {config.PeftType} with {configs[order[0]].PeftType} adapters in one model");
        AdapterConfig resolved = config switch
        {
            LoraConfig lora => InjectLora(name, lora),
            Ia3Config ia3 => InjectIa3(name, ia3),
            _ => throw new NotSupportedException($"the torch backend has no {config.PeftType} layer (LORA, IA3)"),
        };
        configs[name] = resolved;
        order.Add(name);
        if (resolved.ModulesToSave is { Count: > 0 } modules)
        {
            var match = TargetModules.Of(modules);
            var paths = Model.named_modules().Where(m => m.name.Length > 0 && match.Matches(m.name)).Select(m => m.name).ToList();
            if (paths.Count == 0) throw new ArgumentException($"modules_to_save {match} match no module");
            foreach (var path in paths)
                foreach (var (p, _) in Model.Find(path).named_parameters().ToList()) TrainBase(path + "." + p);
        }
        SetAdapter(name);
    }

    private LoraConfig InjectLora(string adapter, LoraConfig config)
    {
        config.Validate();
        config = config with { FanInFanOut = false };
        var sites = Sites();
        var targets = TargetResolver.Resolve(config.TargetModules, sites, ModelType, LoraConfig.Defaults, "LoRA");
        foreach (var site in TargetResolver.Select(sites, targets, "LoRA"))
        {
            var layer = Wrap(site.Path, (b, id) => new TorchLoraLinear(b, Settings, id));
            layer.AddAdapter(adapter, config.RankFor(site.Path), config.ScalingFor(site.Path), config.LoraDropout, config.InitLoraWeights,
                PeftModel.InitRng(Settings.Seed, adapter, site.Path));
        }
        // bias "all": every parameter named like "bias"; "lora_only": the biases of LoRA-wrapped layers (PEFT's bias modes)
        IEnumerable<string> biases = config.Bias switch
        {
            "all" => Model.named_parameters().Select(p => p.name).Where(n => n.Contains("bias")),
            "lora_only" => Layers().Where(l => l.Layer is TorchLoraLinear && l.Layer.HasBias).Select(l => l.Path + ".base_layer.bias"),
            _ => [],
        };
        foreach (var key in biases.ToList()) TrainBase(key);
        return config with { TargetModules = targets };
    }

    private Ia3Config InjectIa3(string adapter, Ia3Config config)
    {
        config = config with { FanInFanOut = false };
        var sites = Sites();
        var targets = TargetResolver.Resolve(config.TargetModules, sites, ModelType, Ia3Config.Defaults, "IA3");
        var feedforward = Ia3Injector.Feedforward(config, targets, ModelType);
        foreach (var site in TargetResolver.Select(sites, targets, "IA3"))
        {
            bool isFeedforward = feedforward.Matches(site.Path);
            var layer = Wrap(site.Path, (b, id) => new TorchIa3Linear(b, isFeedforward, Settings, id));
            if (layer.IsFeedforward != isFeedforward)
                throw new ArgumentException($"IA3: '{site.Path}' is {(layer.IsFeedforward ? "" : "not ")}feed-forward for an earlier adapter but not for '{adapter}'");
            layer.AddAdapter(adapter, config.InitIa3Weights, PeftModel.InitRng(Settings.Seed, adapter, site.Path));
        }
        return config with { TargetModules = targets, FeedforwardModules = feedforward };
    }

    /// <summary>Makes one parameter of the base a trainable float32 copy, saved with the adapter (modules_to_save, LoRA biases).</summary>
    private void TrainBase(string key)
    {
        if (trainedBase.ContainsKey(key)) return;
        int dot = key.LastIndexOf('.');
        var owner = Model.Find(key[..dot]);
        var original = owner.get_parameter(key[(dot + 1)..]) ?? throw new KeyNotFoundException($"TorchPeftModel: no parameter '{key}'");
        var copy = AdapterTensor.Create(TorchTensors.ToHost(original), Settings.Device);
        owner.SetParameter(key[(dot + 1)..], copy.Parameter);
        trainedBase[key] = copy;
    }

    /// <summary>Makes <paramref name="name"/> the one active adapter everywhere and the only trainable one (set_adapter).</summary>
    public void SetAdapter(string name)
    {
        var config = Config(name);
        foreach (var (_, layer) in Layers())
        {
            layer.ActiveAdapters.Clear();
            if (layer.AdapterNames.Contains(name)) layer.ActiveAdapters.Add(name);
            foreach (var adapter in layer.AdapterNames)
                foreach (var (_, t) in layer.AdapterTensors(adapter)) t.Parameter.requires_grad_(adapter == name && !config.InferenceMode);
        }
        foreach (var t in trainedBase.Values) t.Parameter.requires_grad_(!config.InferenceMode);
        ActiveAdapter = name;
    }

    /// <summary>Runs the base model alone until disposed (disable_adapter).</summary>
    public IDisposable DisableAdapters()
    {
        var layers = Layers().Select(l => l.Layer).ToList();
        foreach (var l in layers) l.AdaptersDisabled = true;
        return new Scope(() => { foreach (var l in layers) l.AdaptersDisabled = false; });
    }

    /// <summary>Dropout on (training) or off.</summary>
    public void Train(bool training = true) => Settings.Training = training;

    /// <summary>Every adapter layer with its dotted path.</summary>
    public IEnumerable<(string Path, TorchAdapterLayer Layer)> Layers() =>
        Model.named_modules().Where(m => m.module is TorchAdapterLayer).Select(m => (m.name, (TorchAdapterLayer)m.module));

    /// <summary>The linear layers adapters may wrap: plain ones and adapter layers (which take further adapters of their method).</summary>
    public IReadOnlyList<LinearSite> Sites()
    {
        var sites = new List<LinearSite>();
        string? inside = null;
        foreach (var (path, module) in Model.named_modules())
        {
            if (inside is not null && path.StartsWith(inside, StringComparison.Ordinal)) continue;
            if (TorchAdapterLayer.LinearShape(module) is not { } shape) continue;
            if (module is TorchAdapterLayer) inside = path + ".";
            sites.Add(new LinearSite(path, shape.In, shape.Out, shape.Bias));
        }
        return sites;
    }

    /// <summary>
    /// The adapter tensors of <paramref name="adapter"/> by PEFT key without the prefix (adapter name stripped), then the
    /// trained base parameters under their model names.
    /// </summary>
    public List<(string Key, AdapterTensor Tensor)> StateDict(string adapter)
    {
        Config(adapter);
        var entries = new List<(string, AdapterTensor)>();
        foreach (var (path, layer) in Layers())
            if (layer.AdapterNames.Contains(adapter))
                entries.AddRange(layer.AdapterTensors(adapter).Select(e => ($"{path}.{e.Key}", e.Tensor)));
        entries.AddRange(trainedBase.Select(e => (e.Key, e.Value)));
        return entries;
    }

    /// <summary>What trains now, by in-memory parameter name ("….lora_A.default.weight"), as the optimizer and checkpoints see it.</summary>
    public List<(string Name, AdapterTensor Tensor)> Trainable()
    {
        var result = new List<(string, AdapterTensor)>();
        foreach (var (path, layer) in Layers())
            foreach (var adapter in layer.AdapterNames)
                foreach (var (key, t) in layer.AdapterTensors(adapter))
                    if (t.Parameter.requires_grad)
                    {
                        int dot = key.IndexOf('.');
                        var name = dot < 0 ? $"{key}.{adapter}" : $"{key[..dot]}.{adapter}{key[dot..]}";
                        result.Add(($"{path}.{name}", t));
                    }
        result.AddRange(trainedBase.Where(e => e.Value.Parameter.requires_grad).Select(e => (e.Key, e.Value)));
        return result;
    }

    internal T Wrap<T>(string path, Func<nn.Module<Tensor, Tensor>, int, T> create) where T : TorchAdapterLayer
    {
        var module = Model.Find(path);
        if (module is T existing) return existing;
        if (module is TorchAdapterLayer other) throw new InvalidOperationException($"TorchPeftModel: '{path}' already holds a {other.GetType().Name}");
        var layer = create((nn.Module<Tensor, Tensor>)module, Workbench.Engine.StableHash.Of(path));
        Model.Replace(path, layer);
        return layer;
    }

    private sealed class Scope(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
