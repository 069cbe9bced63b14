using Workbench.Adapters.Merge;
using Workbench.Engine;
using Workbench.Engine.Nn;
using Workbench.Models;

namespace Workbench.Adapters;

/// <summary>
/// A base model with named adapters of one method injected into it (PEFT's PeftModel). The base is frozen; the
/// adapter layers replace the targeted linear layers in place, so the model's own Forward runs them. State-dict
/// keys are the base model's, prefixed <c>base_model.model.</c> on disk (<see cref="PeftFormat"/>). PEFT's verbs are
/// its methods: <see cref="Save"/>, <see cref="Load{TModel}"/>, <see cref="LoadAdapter"/>, <see cref="SetAdapter"/>,
/// <see cref="DisableAdapters"/>, <see cref="AddWeightedAdapter"/>, and on <see cref="PeftModel{TModel}"/>, which keeps
/// the model's own type, <c>MergeAndUnload</c> and <c>Unload</c>.
/// </summary>
public class PeftModel
{
    private readonly Dictionary<string, AdapterConfig> configs = [];
    private readonly List<string> order = [];
    // modules_to_save: parameter key → the frozen original the trainable copy replaced.
    private readonly Dictionary<string, Tensor> savedOriginals = [];

    public Module Model { get; }
    public string ModelType { get; }
    /// <summary>Whether adapter dropout is on, and what seeds its masks.</summary>
    public AdapterDropout Dropout { get; }
    public string ActiveAdapter { get; private set; } = "";

    public IReadOnlyList<string> AdapterNames => order;
    public AdapterConfig Config(string adapter) => configs.TryGetValue(adapter, out var c) ? c
        : throw new KeyNotFoundException($"PeftModel: no adapter '{adapter}' (have {string.Join(", ", order)})");

    private protected PeftModel(Module model, string modelType, long seed)
    {
        Model = model;
        ModelType = modelType;
        Dropout = new AdapterDropout { Seed = seed };
    }

    /// <summary>
    /// Freezes <paramref name="model"/> and injects a first adapter (PEFT's get_peft_model). The model type (for
    /// default targets) comes from the model's config when it is an <see cref="ICausalLM"/>. <paramref name="seed"/>
    /// seeds initialisation and dropout.
    /// </summary>
    public static PeftModel<TModel> Create<TModel>(TModel model, AdapterConfig config, string adapterName = "default", long seed = 0, string? modelType = null)
        where TModel : Module
    {
        var type = modelType ?? (model as ICausalLM)?.Config.ModelType
                   ?? throw new ArgumentException("PeftModel: the model type is unknown; pass modelType");
        model.Freeze();
        var peft = new PeftModel<TModel>(model, type, seed);
        peft.AddAdapter(adapterName, config);
        return peft;
    }

    /// <summary>A saved adapter folder loaded onto <paramref name="model"/> (PEFT's PeftModel.from_pretrained).</summary>
    public static PeftModel<TModel> Load<TModel>(TModel model, string directory, string adapterName = "default", bool isTrainable = false,
        string? modelType = null) where TModel : Module => PeftFormat.Load(model, directory, adapterName, isTrainable, modelType);

    /// <summary>Adds a saved adapter under <paramref name="adapterName"/>; it becomes the active one (PEFT's load_adapter).</summary>
    public void LoadAdapter(string directory, string adapterName, bool isTrainable = false) =>
        PeftFormat.LoadAdapter(this, directory, adapterName, isTrainable);

    /// <summary>Writes every adapter (or the given ones) as PEFT files (save_pretrained); returns the folders written.</summary>
    public IReadOnlyList<string> Save(string directory, IEnumerable<string>? adapters = null) => PeftFormat.Save(this, directory, adapters);

    /// <summary>
    /// A new adapter <paramref name="newName"/> combining existing ones with weights (PEFT's add_weighted_adapter;
    /// <paramref name="combinationType"/> "linear", "cat" or "svd" as <see cref="WeightedAdapter"/> implements them).
    /// </summary>
    public void AddWeightedAdapter(IReadOnlyList<string> adapters, IReadOnlyList<float> weights, string newName, string combinationType = "svd") =>
        WeightedAdapter.Add(this, adapters, weights, newName, combinationType);

    /// <summary>Injects another adapter of the same method; it is trainable and becomes the active one.</summary>
    public void AddAdapter(string name, AdapterConfig config)
    {
        if (configs.ContainsKey(name)) throw new ArgumentException($"PeftModel: adapter '{name}' already exists");
        if (order.Count > 0 && configs[order[0]].PeftType != config.PeftType)
            throw new ArgumentException($"PeftModel: cannot mix {config.PeftType} with {configs[order[0]].PeftType} adapters in one model");
        var resolved = AdapterMethods.Of(config).Inject(this, name, config);
        configs[name] = resolved;
        order.Add(name);
        if (resolved.ModulesToSave is { Count: > 0 } modules) MakeTrainableCopies(modules);
        SetAdapter(name);
    }

    /// <summary>Records an adapter whose layers were built directly (a weighted combination); it starts frozen and inactive.</summary>
    internal void Register(string name, AdapterConfig config)
    {
        if (configs.ContainsKey(name)) throw new ArgumentException($"PeftModel: adapter '{name}' already exists");
        configs[name] = config;
        order.Add(name);
    }

    /// <summary>Makes <paramref name="name"/> the one active adapter everywhere, and the only trainable one (as PEFT's set_adapter).</summary>
    public void SetAdapter(string name)
    {
        var config = Config(name);
        foreach (var (_, layer) in Layers())
        {
            layer.ActiveAdapters.Clear();
            if (layer.AdapterNames.Contains(name)) layer.ActiveAdapters.Add(name);
            foreach (var adapter in layer.AdapterNames)
                foreach (var (_, t) in layer.AdapterTensors(adapter))
                    t.RequiresGrad = adapter == name && !config.InferenceMode;
        }
        ActiveAdapter = name;
    }

    /// <summary>Runs the base model alone until disposed (PEFT's disable_adapter context).</summary>
    public IDisposable DisableAdapters()
    {
        var layers = Layers().Select(l => l.Layer).ToList();
        foreach (var l in layers) l.AdaptersDisabled = true;
        return new Scope(() => { foreach (var l in layers) l.AdaptersDisabled = false; });
    }

    /// <summary>Turns dropout on (training) or off (evaluation).</summary>
    public void Train(bool training = true) => Dropout.Training = training;

    /// <summary>Every adapter layer with its dotted path.</summary>
    public IEnumerable<(string Path, AdapterLayer Layer)> Layers() =>
        Model.NamedModules().Where(m => m.Module is AdapterLayer).Select(m => (m.Path, (AdapterLayer)m.Module));

    /// <summary>The linear layers adapters may wrap: plain ones, and adapter layers (which take further adapters).</summary>
    public IReadOnlyList<LinearSite> Sites()
    {
        var sites = new List<LinearSite>();
        string? inside = null;
        foreach (var (path, module) in Model.NamedModules())
        {
            if (inside is not null && path.StartsWith(inside, StringComparison.Ordinal)) continue;
            if (module is not LinearLayer linear) continue;
            if (module is AdapterLayer) inside = path + ".";
            var bias = (module is AdapterLayer a ? a.BaseLayer : linear) is Linear { HasBias: true };
            sites.Add(new LinearSite(path, linear.InFeatures, linear.OutFeatures, bias));
        }
        return sites;
    }

    /// <summary>The adapter layer at <paramref name="path"/>, wrapping the plain layer there first if needed.</summary>
    internal T Wrap<T>(string path, Func<LinearLayer, int, T> create) where T : AdapterLayer
    {
        var module = Model.Find(path);
        if (module is T existing) return existing;
        if (module is AdapterLayer other)
            throw new InvalidOperationException($"PeftModel: '{path}' already holds a {other.GetType().Name}");
        var layer = create((LinearLayer)module, StableHash.Of(path));
        Model.ReplaceModule(path, layer);
        return layer;
    }

    /// <summary>A generator for one adapter's initial values at one layer, independent of injection order.</summary>
    internal Random RngFor(string adapter, string path) => InitRng(Dropout.Seed, adapter, path);

    /// <summary>The generator of one adapter's initial values at one layer path, from the run's seed (shared by every backend).</summary>
    public static Random InitRng(long seed, string adapter, string path) =>
        new(unchecked((int)StableHash.Combine(seed, StableHash.Of(adapter), StableHash.Of(path))));

    /// <summary>Parameters trainable now, and all parameters (base, adapters, and originals kept for modules_to_save).</summary>
    public (long Trainable, long Total) ParameterCounts()
    {
        long trainable = 0, total = savedOriginals.Values.Sum(t => t.Numel);
        foreach (var (_, t) in Model.NamedParameters())
        {
            total += t.Numel;
            if (t.RequiresGrad) trainable += t.Numel;
        }
        return (trainable, total);
    }

    /// <summary>Parameter keys (model names) of the modules_to_save copies.</summary>
    public IEnumerable<string> ModulesToSaveKeys => savedOriginals.Keys;

    /// <summary>The frozen original a modules_to_save copy replaced (for unloading).</summary>
    internal IReadOnlyDictionary<string, Tensor> SavedOriginals => savedOriginals;

    /// <summary>
    /// modules_to_save: every parameter of a matching module is replaced by a trainable fp32 copy; the original is
    /// kept (PEFT's ModulesToSaveWrapper keeps original_module). One copy per module, shared by the adapters.
    /// </summary>
    private void MakeTrainableCopies(IReadOnlyList<string> modules)
    {
        var match = TargetModules.Of(modules);
        var paths = Model.NamedModules().Where(m => m.Path.Length > 0 && match.Matches(m.Path)).Select(m => m.Path).ToList();
        if (paths.Count == 0) throw new ArgumentException($"modules_to_save {match} match no module");
        foreach (var path in paths)
        {
            var module = Model.Find(path);
            foreach (var (name, tensor) in module.NamedParameters().ToList())
            {
                var key = path + "." + name;
                if (savedOriginals.ContainsKey(key)) continue;
                savedOriginals[key] = tensor;
                var copy = tensor.To(DType.F32).Clone();
                copy.RequiresGrad = true;
                SetParameterAt(key, copy);
            }
        }
    }

    /// <summary>Sets the parameter at a dotted key ("model.layers.0.mlp.down_proj.bias").</summary>
    internal void SetParameterAt(string key, Tensor value)
    {
        int dot = key.LastIndexOf('.');
        Model.Find(key[..dot]).SetParameter(key[(dot + 1)..], value);
    }

    private sealed class Scope(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}

/// <summary>A <see cref="PeftModel"/> that keeps its model's type, so merging or unloading hands back the model as it was made.</summary>
public sealed class PeftModel<TModel> : PeftModel where TModel : Module
{
    internal PeftModel(TModel model, string modelType, long seed) : base(model, modelType, seed) => Model = model;

    public new TModel Model { get; }

    /// <summary>Folds the active adapter (or the given ones) into the base weights and removes the adapter layers (merge_and_unload).</summary>
    public TModel MergeAndUnload(IReadOnlyList<string>? adapters = null)
    {
        AdapterMerge.MergeAndUnload(this, adapters);
        return Model;
    }

    /// <summary>Removes every adapter without merging: the base model as it was (unload).</summary>
    public TModel Unload()
    {
        AdapterMerge.Unload(this);
        return Model;
    }
}
