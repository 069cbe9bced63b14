using TorchSharp;
using Workbench.Engine;
using Workbench.Formats;
using Workbench.Models;
using Workbench.Quantization;
using Workbench.Torch.Layers;
using Workbench.Torch.Quantization;
using static TorchSharp.torch;

namespace Workbench.Torch.Models;

/// <summary>
/// Builds the torch model a config names from a Hugging Face model directory (our safetensors reader; each tensor's
/// bytes go straight from the mapped file into libtorch's memory, in the file's dtype unless another is asked for) or
/// from synthetic weights. Quantised as transformers' load_in_4bit does: every linear layer but the output head becomes
/// a <see cref="TorchLinear4bit"/>; embeddings and the head keep the checkpoint's dtype (as the managed backend's
/// loading does), synthetic ones are stored in <see cref="QuantOptions.KeptDType"/>. As with
/// the managed <see cref="ModelQuantizer.Build{T}"/>, the model is first built with zero-stride placeholders for its
/// matrices, then each is filled, or read, quantised on the host and dropped, one at a time.
/// </summary>
public static class TorchModels
{
    /// <summary>The model of <c>config.ModelType</c>, every parameter from <paramref name="weights"/>.</summary>
    public static TorchCausalLM Create(ModelConfig config, TorchWeightSource weights, Device device) => config.ModelType switch
    {
        "llama" or "gemma" => new TorchLlama(config, weights, device),
        "gpt_neox" => new TorchGptNeoX(config, weights, device),
        _ => throw new NotSupportedException($"{config.Source}: model_type '{config.ModelType}' has no torch model class (llama, gpt_neox, gemma)"),
    };

    /// <summary>
    /// A model directory: config.json and the safetensors weights (single or sharded), checked against the config first
    /// (missing or mis-shaped tensors are reported together, with the file). Frozen.
    /// </summary>
    public static TorchCausalLM Load(string directory, Device device, DType? storage = null, QuantOptions? quantization = null)
    {
        TorchRuntime.Ensure();
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"{directory}: no such model directory");
        var config = ModelConfig.Load(directory);
        using var checkpoint = SafeTensorsCheckpoint.Open(directory);
        var problems = LayoutCheck.Compare(ParameterLayout.For(config), checkpoint.Entries).Problems().Where(p => !p.StartsWith("unexpected")).ToList();
        if (problems.Count > 0)
            throw new ModelLoadException(checkpoint.Path, $"does not fit {config.Source} ({config.Architecture}):\n  " + string.Join("\n  ", problems));
        Tensor Read(string name, long[] shape)
        {
            var t = TorchTensors.FromCheckpoint(checkpoint, name, device);
            if (storage is not { } dtype || t.dtype == TorchTensors.ScalarType(dtype)) return t;
            var converted = t.to(TorchTensors.ScalarType(dtype));
            t.Dispose();
            return converted;
        }
        return Build(config, Read, WeightSources.FromCheckpoint(checkpoint), device, quantization, kept: null);
    }

    /// <summary>A model from host weights (synthetic ones for benchmarks: <see cref="WeightSources.Random"/>).</summary>
    public static TorchCausalLM Create(ModelConfig config, WeightSource weights, Device device, QuantOptions? quantization = null)
    {
        TorchRuntime.Ensure();
        return Build(config, (name, shape) => TorchTensors.FromHost(weights(name, shape.Select(d => (int)d).ToArray()), device), weights, device,
            quantization, quantization is null ? null : TorchTensors.ScalarType(quantization.KeptDType));
    }

    /// <param name="kept">the dtype of embeddings and unquantised matrices under quantisation; null: as <paramref name="weights"/> gives them.</param>
    private static TorchCausalLM Build(ModelConfig config, TorchWeightSource weights, WeightSource host, Device device, QuantOptions? q, ScalarType? kept)
    {
        if (q is null) return Create(config, weights, device);
        if (q.Type == QuantType.Int8)
            throw new NotSupportedException("the torch backend has 4-bit layers (nf4, fp4, int4), not 8-bit ones; use --backend managed for --load-in-8bit");
        var placeholders = new HashSet<string>();
        var model = Create(config, (name, shape) =>
        {
            if (shape.Length != 2) return weights(name, shape);
            placeholders.Add(name);
            return zeros(1, device: device).expand(shape);                       // a shape without memory
        }, device);
        long dropped = 0;
        foreach (var (path, module) in model.named_modules().ToList())
        {
            var name = path + ".weight";
            if (!placeholders.Contains(name)) continue;
            bool skipped = q.SkipModules.Contains(path[(path.LastIndexOf('.') + 1)..]);
            if (module is FrozenLinear linear && !skipped)
            {
                var shape = linear.Weight.shape.Select(d => (int)d).ToArray();
                var quantized = QuantizedTensor.Quantize(host(name, shape), q.Type, q.BlockSize, q.DoubleQuant);
                model.Replace(path, new TorchLinear4bit(quantized, linear.Bias, device));
                // the host's float32 matrix and its codes are garbage now: collect every GiB, as ModelQuantizer.Build does
                dropped += 4L * quantized.Numel + quantized.Codes.Length;
                if (dropped >= ModelQuantizer.CollectEveryBytes) { GC.Collect(); dropped = 0; }
                continue;
            }
            var weight = weights(name, module.get_parameter("weight")!.shape);
            var stored = weight;
            if (kept is { } dtype && weight.dtype != dtype)
            {
                stored = weight.to(dtype);
                weight.Dispose();
            }
            module.SetParameter("weight", new Parameter(stored, requires_grad: false));
        }
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return model;
    }
}
