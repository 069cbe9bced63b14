using Workbench.Engine;
using Workbench.Engine.Nn;
using Workbench.Formats;
using Workbench.Models;

namespace Workbench.Quantization;

/// <summary>
/// Hugging Face checkpoints whose linear weights are stored as bitsandbytes 4-bit state (what transformers
/// saves for a model loaded with <c>load_in_4bit</c>): a layer <c>p</c> is stored as <c>p.weight</c> (packed
/// uint8), <c>p.weight.absmax</c>, <c>p.weight.quant_map</c>, … and <c>p.weight.quant_state.bitsandbytes__nf4</c>
/// (see <see cref="BnbState"/>). Loading recognises such layers by that last key and builds a
/// <see cref="Linear4bit"/> from them; plain weights are loaded as they are, or quantised with the options given.
/// </summary>
public static class QuantizedCheckpoint
{
    private const string StatePrefix = ".weight.quant_state.bitsandbytes__";

    /// <summary>
    /// The model's state dict with every <see cref="Linear4bit"/> written as bitsandbytes state and every other
    /// parameter as stored. Linear8bit and Int4 layers have no bitsandbytes form and are refused.
    /// </summary>
    public static Dictionary<string, Tensor> StateDict(Module model)
    {
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (path, module) in model.NamedModules())
        {
            if (module is Linear4bit q4) foreach (var (k, v) in q4.ToTensors(path)) tensors[k] = v;
            else if (module is QuantizedLinear q)
                throw new NotSupportedException($"QuantizedCheckpoint: '{path}' is a {q.GetType().Name} ({q.Weight.Type.Name()}); only nf4/fp4 Linear4bit layers have a bitsandbytes form");
        }
        foreach (var (name, t) in model.NamedParameters()) tensors[name] = t;
        return tensors;
    }

    public static void Save(Module model, string path) => SafeTensorsWriter.Write(path, StateDict(model));

    /// <summary>
    /// The model of a directory (config.json + safetensors), any model_type <see cref="CausalLM.Create"/> builds:
    /// pre-quantised layers load as Linear4bit, the other linear layers are quantised with <paramref name="options"/>
    /// (kept as stored when null) one at a time, as in <see cref="ModelQuantizer.Build{T}"/>.
    /// </summary>
    public static CausalLMModule Load(string directory, QuantOptions? options)
    {
        var config = ModelConfig.Load(directory);
        using var checkpoint = SafeTensorsCheckpoint.Open(directory);
        return ModelQuantizer.Build(w => CausalLM.Create(config, w), Source(checkpoint), options, path => Stored(checkpoint, path));
    }

    /// <summary>Reads tensors on demand, checking shapes against the model's.</summary>
    private static WeightSource Source(SafeTensorsCheckpoint checkpoint) => (name, shape) =>
    {
        var t = checkpoint.Load(name);
        if (!t.Shape.SequenceEqual(shape))
            throw new ShapeException("load", $"{checkpoint.Path}: tensor '{name}' has shape {Shape.Format(t.Shape)}, expected {Shape.Format(shape)}");
        return t;
    };

    /// <summary>The Linear4bit stored at <paramref name="path"/>, or null when the checkpoint holds a plain weight there.</summary>
    private static Linear4bit? Stored(SafeTensorsCheckpoint checkpoint, string path)
    {
        if (!checkpoint.Contains(path + StatePrefix + "nf4") && !checkpoint.Contains(path + StatePrefix + "fp4")) return null;
        var tensors = checkpoint.Entries.Where(e => e.Name.StartsWith(path + ".weight", StringComparison.Ordinal) || e.Name == path + ".bias")
            .ToDictionary(e => e.Name, e => checkpoint.Load(e.Name));
        return Linear4bit.FromTensors(tensors, path);
    }
}
