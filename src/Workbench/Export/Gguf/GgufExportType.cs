using Workbench.Formats.Gguf;

namespace Workbench.Export.Gguf;

/// <summary>What <c>wb export gguf --type</c> asks for: the type of the weight matrices.</summary>
public enum GgufExportType { F32, F16, Q8_0, Q4_0 }

/// <summary>
/// Which ggml type each tensor gets, by the rules of llama.cpp's convert_hf_to_gguf.py (ModelBase.prepare_tensors):
/// <list type="bullet">
/// <item>1-D tensors, <c>*_norm.weight</c> and anything whose Hugging Face name does not end in <c>.weight</c>
/// (biases): F32;</item>
/// <item>every other tensor: the asked type (token embedding and output head included);</item>
/// <item>a tensor whose rows are not whole 32-element blocks cannot be Q8_0/Q4_0: F16 instead ("falling back to F16").</item>
/// </list>
/// The converter has no q4_0 output type (llama-quantize makes one); ours applies the same rules with Q4_0, which
/// is what <c>llama-quantize --pure</c> writes (without --pure it would put the output head at Q6_K).
/// </summary>
public static class GgufTensorTypes
{
    /// <summary>general.file_type: llama.cpp's <c>enum llama_ftype</c> (ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q4_0 2, MOSTLY_Q8_0 7).</summary>
    public static uint FileType(GgufExportType type) => type switch
    {
        GgufExportType.F32 => 0,
        GgufExportType.F16 => 1,
        GgufExportType.Q4_0 => 2,
        GgufExportType.Q8_0 => 7,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static GgmlType For(GgufExportType type, string hfName, string ggufName, long[] shape)
    {
        if (shape.Length <= 1 || ggufName.EndsWith("_norm.weight") || !hfName.EndsWith(".weight")) return GgmlType.F32;
        var wanted = type switch
        {
            GgufExportType.F32 => GgmlType.F32,
            GgufExportType.F16 => GgmlType.F16,
            GgufExportType.Q8_0 => GgmlType.Q8_0,
            GgufExportType.Q4_0 => GgmlType.Q4_0,
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };
        return shape[^1] % GgmlTypes.BlockSize(wanted) == 0 ? wanted : GgmlType.F16;
    }
}
