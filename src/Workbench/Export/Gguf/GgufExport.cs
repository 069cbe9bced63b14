using System.Runtime.InteropServices;
using Workbench.Adapters;
using Workbench.Engine;
using Workbench.Formats;
using Workbench.Formats.Gguf;
using Workbench.Models;

namespace Workbench.Export.Gguf;

/// <summary>What an export wrote: the file, its llama.cpp architecture, and how many tensors of each ggml type.</summary>
public sealed record GgufExportResult(string Path, string Architecture, GgufExportType Type, bool AdapterMerged,
    long Bytes, IReadOnlyDictionary<GgmlType, int> TensorTypes, IReadOnlyList<GgufTensorInfo> Tensors);

/// <summary>
/// A Hugging Face model folder (Llama, Gemma, GPT-NeoX) as one GGUF v3 file that llama.cpp, Ollama, LM Studio and
/// LLamaSharp load: general.* keys, the architecture's hyperparameters and tensors (<see cref="LlamaCppArchitecture"/>),
/// the tokenizer (<see cref="LlamaCppVocabulary"/>), each tensor typed by <see cref="GgufTensorTypes"/>.
/// Streamed: without an adapter every tensor is read from the checkpoint, converted and written before the next is
/// read, so memory holds one tensor at a time; with an adapter the merged model is held once (1× the model), never
/// a second copy. Written to a temporary file beside the target and renamed over it; an existing file is replaced only
/// with <paramref name="force"/>, and only a <c>.gguf</c> target is ever written.
/// </summary>
public static class GgufExport
{
    /// <summary>gguf-py's GGML_QUANT_VERSION, written as general.quantization_version.</summary>
    public const uint QuantizationVersion = 2;

    public static GgufExportResult Write(string modelDirectory, string outPath, GgufExportType type = GgufExportType.F16,
        string? adapterDirectory = null, bool force = false)
    {
        CheckTarget(outPath, force);
        var config = ModelConfig.Load(modelDirectory);
        var architecture = LlamaCppArchitecture.For(config);
        var metadata = new GgufMetadata()
            .Add("general.architecture", architecture.Name)
            .Add("general.type", "model")
            .Add("general.name", Path.GetFileName(Path.GetFullPath(modelDirectory).TrimEnd(Path.DirectorySeparatorChar)));
        architecture.AddHyperparameters(metadata, config);
        metadata.Add("general.file_type", GgufTensorTypes.FileType(type));
        LlamaCppVocabulary.AddTo(metadata, modelDirectory, config, architecture);
        metadata.Add("general.quantization_version", QuantizationVersion);

        var plan = new List<(GgufTensorInfo Info, Func<float[]> Values)>();
        using var weights = adapterDirectory is null ? Checkpoint(modelDirectory) : Merged(modelDirectory, adapterDirectory);
        foreach (var spec in ParameterLayout.For(config).Parameters)
        {
            if (architecture.TensorName(spec.Name) is not { } name) continue;
            var shape = spec.Shape.Select(d => (long)d).ToArray();
            var info = new GgufTensorInfo(name, shape, GgufTensorTypes.For(type, spec.Name, name, shape));
            plan.Add((info, () => architecture.Transform(spec.Name, weights.Source(spec.Name, spec.Shape).ToArray(), spec.Shape, config)));
        }
        foreach (var (name, values) in architecture.ExtraTensors(config))
            plan.Add((new GgufTensorInfo(name, [values.Length], GgmlType.F32), () => values));

        var infos = plan.Select(p => p.Info).ToList();
        AtomicFile.Write(outPath, stream =>
            GgufWriter.Write(stream, metadata, infos, (i, s) => Encode(s, plan[i].Values(), infos[i])));
        return new GgufExportResult(Path.GetFullPath(outPath), architecture.Name, type, adapterDirectory is not null,
            new FileInfo(outPath).Length, infos.GroupBy(t => t.Type).ToDictionary(g => g.Key, g => g.Count()), infos);
    }

    /// <summary>Refuses a target that is not a .gguf file, or one <see cref="OutputFile"/> refuses (an existing one without <paramref name="force"/>).</summary>
    private static void CheckTarget(string outPath, bool force)
    {
        if (!outPath.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"{outPath}: the output must be a .gguf file");
        OutputFile.Claim(outPath, force);
        var parent = Path.GetDirectoryName(Path.GetFullPath(outPath))!;
        if (!Directory.Exists(parent)) throw new DirectoryNotFoundException($"{outPath}: its folder {parent} does not exist");
    }

    /// <summary>Writes one tensor's values as <see cref="GgufTensorInfo.Type"/>, a slice of rows at a time.</summary>
    private static void Encode(Stream stream, float[] values, GgufTensorInfo info)
    {
        int rowLength = checked((int)info.RowLength);
        int rowBytes = checked((int)GgmlTypes.RowBytes(info.Type, rowLength));
        int rowsPerChunk = Math.Max(1, (1 << 22) / Math.Max(1, rowBytes));
        var buffer = new byte[rowsPerChunk * rowBytes];
        for (long row = 0; row < info.Rows; row += rowsPerChunk)
        {
            int rows = (int)Math.Min(rowsPerChunk, info.Rows - row);
            var x = values.AsSpan(checked((int)(row * rowLength)), rows * rowLength);
            var o = buffer.AsSpan(0, rows * rowBytes);
            switch (info.Type)
            {
                case GgmlType.F32: MemoryMarshal.AsBytes(x).CopyTo(o); break;
                case GgmlType.F16:
                    var half = MemoryMarshal.Cast<byte, Half>(o);
                    for (int i = 0; i < x.Length; i++) half[i] = (Half)x[i];
                    break;
                case GgmlType.Q8_0: GgmlBlocks.QuantizeQ8_0(x, o); break;
                case GgmlType.Q4_0: GgmlBlocks.QuantizeQ4_0(x, o); break;
                default: throw new NotSupportedException($"GGUF tensor '{info.Name}': type {info.Type} is not written");
            }
            stream.Write(o);
        }
    }

    private sealed class Weights(WeightSource source, IDisposable? owner) : IDisposable
    {
        public WeightSource Source { get; } = source;
        public void Dispose() => owner?.Dispose();
    }

    private static Weights Checkpoint(string directory)
    {
        var checkpoint = SafeTensorsCheckpoint.Open(directory);
        return new Weights(WeightSources.FromCheckpoint(checkpoint), checkpoint);
    }

    /// <summary>The base with the adapter merged in (PEFT's merge_and_unload), its parameters by Hugging Face name.</summary>
    private static Weights Merged(string directory, string adapterDirectory)
    {
        var merged = PeftModel.Load(CausalLM.Load(directory), adapterDirectory).MergeAndUnload();
        var parameters = merged.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor);
        return new Weights(WeightSources.FromDictionary(parameters, $"{directory} merged with {adapterDirectory}"), null);
    }
}
