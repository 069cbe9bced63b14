using Workbench.Adapters;
using Workbench.Adapters.Ia3;
using Workbench.Models;
using Workbench.Quantization;

namespace Workbench.Training;

/// <summary>The knobs of a memory plan; the defaults are the QLoRA paper's setup on all linear layers.</summary>
public sealed record PlanOptions
{
    public AdapterMethod Method { get; init; } = AdapterMethod.Lora;
    public int Rank { get; init; } = 16;
    public int Seq { get; init; } = 512;
    public int Batch { get; init; } = 1;
    /// <summary>Last path segments of the adapted layers; null: all linear layers (LoRA/QLoRA) or PEFT's IA3 defaults.</summary>
    public IReadOnlyCollection<string>? Targets { get; init; }
    /// <summary>The frozen base's 4-bit format (QLoRA); null: unquantised, at <see cref="FrozenBytes"/>.</summary>
    public QuantOptions? Quantization { get; init; } = new();
    public bool GradientCheckpointing { get; init; }
    /// <summary>Optimiser states in 8 bits (<see cref="Quantization.AdamW8bit"/>) instead of fp32.</summary>
    public bool Optimizer8bit { get; init; }
    /// <summary>Bytes per element of a frozen base for LoRA/IA3 (bf16 = 2); full fine-tuning trains fp32 weights.</summary>
    public int FrozenBytes { get; init; } = 2;
}

/// <summary>
/// Bytes a training step needs, by part, predicted from the config alone for this engine (fp32 compute):
///   weights      — full: 4 B/param; LoRA/IA3: the frozen base at <see cref="PlanOptions.FrozenBytes"/>; QLoRA: each
///                  attention/MLP matrix in 4 bits (⌈n/2⌉ code bytes + 4 B per block absmax, or with double
///                  quantisation 1 B per block + 4 B per 256 blocks + a 4 B offset), embeddings and head in bf16,
///                  norms fp32 (what <see cref="Quantization.ModelQuantizer.Build{T}"/> makes);
///   adapters     — the trainable fp32 adapter parameters: LoRA r·(in + out) per target, IA3 one vector per target
///                  (out for attention k/v, in for the feed-forward down_proj);
///   gradients    — 4 B per trainable parameter;
///   optimizer    — AdamW m and v: 8 B per trainable parameter, or in 8 bits 2·(n + 4·⌈n/256⌉) for tensors of
///                  ≥ 4,096 elements (smaller ones stay fp32);
///   activations  — the fp32 tensors our ops keep alive for backward (see <see cref="LayerActivationFloats"/>),
///                  for all layers, or with gradient checkpointing one input per layer plus one layer recomputed;
///                  plus the embedding output, the final norm's output and the head's loss: a head that is one weight
///                  (not adapted) is fused with the cross-entropy (<see cref="Engine.Ops.LinearCrossEntropy"/>), which holds
///                  one chunk of logits and the input's gradient; an adapted head gives all the logits and their gradient.
/// The runtime itself (code, thread stacks, pooled buffers, ~100 MB) is not included.
/// </summary>
public sealed record MemoryPlan(
    long Parameters, long TrainableParameters,
    long WeightBytes, long AdapterBytes, long GradientBytes, long OptimizerBytes, long ActivationBytes,
    long QuantizedCodeBytes, long QuantizationConstantBytes, long LayerActivationBytes)
{
    public long TotalBytes => WeightBytes + AdapterBytes + GradientBytes + OptimizerBytes + ActivationBytes;

    public const int Min8bitSize = 4096, OptimizerBlock = 256;

    public static MemoryPlan For(ModelConfig config, PlanOptions o)
    {
        var layout = ParameterLayout.For(config);
        var linears = layout.Parameters.Where(p => p.IsLinearWeight).ToList();
        var targets = Targets(config, o, linears);
        var adapted = o.Method is AdapterMethod.None ? [] : linears.Where(p => targets.Contains(ModuleName(p.Name))).ToList();
        var feedForward = FeedForward(config);

        // trainable tensors: full → every parameter; LoRA → A [r, in] and B [out, r]; IA3 → one vector
        var trainable = o.Method switch
        {
            AdapterMethod.None => layout.Parameters.Select(p => p.Numel).ToList(),
            AdapterMethod.Ia3 => adapted.Select(p => (long)(feedForward.Contains(ModuleName(p.Name)) ? p.Shape[1] : p.Shape[0])).ToList(),
            _ => adapted.SelectMany(p => new[] { (long)o.Rank * p.Shape[1], (long)p.Shape[0] * o.Rank }).ToList(),
        };
        long trainableCount = trainable.Sum();

        long codes = 0, constants = 0, weights;
        if (o.Quantization is { } quant && o.Method != AdapterMethod.None)
        {
            foreach (var p in linears)
            {
                codes += (p.Numel + 1) / 2;
                constants += QuantizationConstants(p.Numel, quant.BlockSize, quant.DoubleQuant);
            }
            long kept = layout.Parameters.Where(p => p.Group is ParameterGroup.Embeddings or ParameterGroup.Head).Sum(p => p.Numel) * 2;
            long rest = layout.Parameters.Where(p => !p.IsLinearWeight && p.Group is not (ParameterGroup.Embeddings or ParameterGroup.Head)).Sum(p => p.Numel) * 4;
            weights = codes + constants + kept + rest;
        }
        else weights = layout.TotalParameters * (o.Method == AdapterMethod.None ? 4 : o.FrozenBytes);

        long adapterBytes = o.Method == AdapterMethod.None ? 0 : 4 * trainableCount;
        long optimizer = trainable.Sum(n => o.Optimizer8bit && n >= Min8bitSize ? 2 * (n + 4 * ((n + OptimizerBlock - 1) / OptimizerBlock)) : 8 * n);

        long tokens = (long)o.Batch * o.Seq;
        // the adapted layers of one decoder layer (every layer has the same), with their shapes
        var layerTargets = adapted.Where(p => p.Name.Contains(".layers.0.")).Select(p => (ModuleName(p.Name), In: p.Shape[1], Out: p.Shape[0])).ToList();
        long layerFloats = LayerActivationFloats(config, o, layerTargets, feedForward);
        long layers = o.GradientCheckpointing ? tokens * config.HiddenSize * config.NumLayers + layerFloats : layerFloats * config.NumLayers;
        // embedding output; final norm output + its 2 row statistics; the head's loss (see the summary)
        bool fusedHead = !adapted.Any(p => p.Group == ParameterGroup.Head);
        int chunks = Engine.Ops.LinearCrossEntropyChunks((int)tokens, config.VocabSize);
        long loss = fusedHead ? (tokens + chunks - 1) / chunks * config.VocabSize + tokens * config.HiddenSize : 2 * tokens * config.VocabSize;
        long outside = tokens * config.HiddenSize + tokens * (config.HiddenSize + 2) + loss;
        return new MemoryPlan(layout.TotalParameters, trainableCount, weights, adapterBytes, 4 * trainableCount, optimizer,
            4 * (layers + outside), codes, constants, 4 * layerFloats);
    }

    /// <summary>
    /// The adapted module names: as given; else every linear layer below the head (LoRA, QLoRA's setup), or PEFT's IA3
    /// defaults for the model type.
    /// </summary>
    private static IReadOnlyCollection<string> Targets(ModelConfig config, PlanOptions o, IEnumerable<ParameterSpec> linears) =>
        o.Targets ?? (o.Method == AdapterMethod.Ia3
            ? Ia3Config.Defaults.GetValueOrDefault(config.ModelType) ?? throw new NotSupportedException($"MemoryPlan: no IA3 defaults for model_type '{config.ModelType}'")
            : linears.Select(p => ModuleName(p.Name)).Distinct().ToArray());

    /// <summary>The feed-forward layers IA3 scales on the input side (PEFT's defaults for the model type).</summary>
    private static IReadOnlyCollection<string> FeedForward(ModelConfig config) => Ia3Config.FeedforwardDefaults.GetValueOrDefault(config.ModelType) ?? [];

    /// <summary>
    /// fp32 elements one decoder layer keeps for backward in this engine, N = batch·seq tokens, d hidden, q = heads·head_dim,
    /// kv = kv_heads·head_dim, f intermediate, H heads.
    /// Llama and Gemma (one decoder layer class): N·(6d + 5q + 5kv + 3f + H + 4)
    ///   = input norm d, q/k/v/o projections q + kv + kv + d, q and k copied contiguous and rotated 2q + 2kv, v copied
    ///   contiguous kv, attention output q and one logsumexp per head H, its [B, T, q] copy q, residual d, second norm d,
    ///   gate/up/gated activation 3f, down projection d, layer output d, and two row statistics per norm 4.
    /// GPT-NeoX (LayerNorms, fused query_key_value, GELU MLP; parallel or sequential residual alike): N·(16d + 2f + H + 20),
    ///   fitted to this engine's heap growth over d ∈ {256, 512}, f ∈ {512, 1024} (within 0.1 %; a test holds it to 10 %).
    /// Plus per LoRA target 3·N·out + N·r (the base output, B·(A·x), its scaled copy — all inputs of the recorded sum —
    /// and A·x), per IA3 target N·out or, feed-forward, N·in for the scaled copy.
    /// </summary>
    public static long LayerActivationFloats(ModelConfig c, PlanOptions o, IReadOnlyList<(string Name, int In, int Out)> targets,
        IReadOnlyCollection<string> feedForward)
    {
        long n = (long)o.Batch * o.Seq;
        int d = c.HiddenSize, q = c.NumHeads * c.HeadDim, kv = c.NumKvHeads * c.HeadDim, f = c.IntermediateSize;
        long floats = c.ModelType switch
        {
            "llama" or "gemma" => n * (6L * d + 5L * q + 5L * kv + 3L * f + c.NumHeads + 4),
            "gpt_neox" => n * (16L * d + 2L * f + c.NumHeads + 20),
            _ => throw new NotSupportedException($"MemoryPlan: no activation model for model_type '{c.ModelType}' (llama, gemma, gpt_neox)"),
        };
        foreach (var (name, inF, outF) in targets)
        {
            floats += o.Method switch
            {
                AdapterMethod.Lora => n * (3L * outF + o.Rank),
                AdapterMethod.Ia3 => n * (feedForward.Contains(name) ? inF : outF),
                _ => 0,
            };
        }
        return floats;
    }

    /// <summary>Absmax storage of n weights in blocks: fp32 per block, or double-quantised (8-bit per block, fp32 per 256 blocks, fp32 offset).</summary>
    public static long QuantizationConstants(long n, int blockSize, bool doubleQuant)
    {
        long blocks = (n + blockSize - 1) / blockSize;
        return doubleQuant ? blocks + 4 * ((blocks + 255) / 256) + 4 : 4 * blocks;
    }

    private static string ModuleName(string weightName)
    {
        var module = weightName[..weightName.LastIndexOf('.')];
        return module[(module.LastIndexOf('.') + 1)..];
    }
}
