using System.Globalization;
using System.Text;
using System.Text.Json;
using Workbench.Engine;

namespace Workbench.Quantization;

/// <summary>
/// The bitsandbytes 4-bit state as transformers saves it (QuantState.as_dict(packed=True) under the weight's
/// name), as a name → tensor map that a safetensors writer can store:
///   weight                                 U8  [n/2, 1]   packed codes
///   weight.absmax                          F32 [blocks]   (U8 [blocks] when double-quantised)
///   weight.quant_map                       F32 [16]
///   weight.nested_absmax                   F32 [blocks/256]  } double quantisation only
///   weight.nested_quant_map                F32 [256]         }
///   weight.quant_state.bitsandbytes__nf4   U8  [len]      UTF-8 JSON: quant_type, blocksize, dtype, shape
///                                                         (+ nested_blocksize, nested_dtype, nested_offset)
/// The JSON is written as Python's json.dumps writes it (", " and ": " separators, repr floats), so the bytes match.
/// </summary>
public static class BnbState
{
    public static Dictionary<string, Tensor> ToTensors(QuantizedTensor q, string name = "weight")
    {
        if (q.Type is not (QuantType.Nf4 or QuantType.Fp4))
            throw new ArgumentException($"BnbState: bitsandbytes stores only nf4 and fp4 4-bit weights, not {q.Type.Name()}");
        var tensors = new Dictionary<string, Tensor>
        {
            [name] = Bytes(q.Codes, q.Codes.Length, 1),
            [name + ".absmax"] = q.Nested is null ? Tensor.FromArray((float[])q.Absmax!.Clone(), q.Absmax!.Length) : Bytes(q.Nested.Codes, q.Nested.Codes.Length),
            [name + ".quant_map"] = Tensor.FromArray((float[])q.Book.Values.Clone(), q.Book.Values.Length),
        };
        var json = new StringBuilder();
        json.Append($"{{\"quant_type\": \"{q.Type.Name()}\", \"blocksize\": {q.BlockSize}, \"dtype\": \"{q.OriginalDType}\", ");
        json.Append($"\"shape\": [{string.Join(", ", q.Shape)}]");
        if (q.Nested is not null)
        {
            tensors[name + ".nested_absmax"] = Tensor.FromArray((float[])q.Nested.Absmax.Clone(), q.Nested.Absmax.Length);
            tensors[name + ".nested_quant_map"] = Tensor.FromArray((float[])q.Nested.Book.Values.Clone(), q.Nested.Book.Values.Length);
            json.Append($", \"nested_blocksize\": {NestedAbsmax.BlockSize}, \"nested_dtype\": \"float32\", \"nested_offset\": {PythonRepr(q.Nested.Offset)}");
        }
        json.Append('}');
        var utf8 = Encoding.UTF8.GetBytes(json.ToString());
        tensors[$"{name}.quant_state.bitsandbytes__{q.Type.Name()}"] = Bytes(utf8, utf8.Length);
        return tensors;
    }

    /// <summary>Reads the tensors <see cref="ToTensors"/> writes (e.g. from a transformers checkpoint); the stored code books are used as they are.</summary>
    public static QuantizedTensor FromTensors(IReadOnlyDictionary<string, Tensor> tensors, string name = "weight")
    {
        var stateKeys = tensors.Keys.Where(k => k.StartsWith(name + ".quant_state.bitsandbytes__", StringComparison.Ordinal)).ToList();
        if (stateKeys.Count != 1)
            throw new FormatException($"BnbState: expected one '{name}.quant_state.bitsandbytes__nf4|fp4' tensor, found {stateKeys.Count}");
        using var json = JsonDocument.Parse(ReadBytes(tensors[stateKeys[0]]));
        var root = json.RootElement;
        var type = QuantTypes.Parse(root.GetProperty("quant_type").GetString()!);
        int blockSize = root.GetProperty("blocksize").GetInt32();
        var shape = root.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var book = new CodeBook(type.Name(), Get(tensors, name + ".quant_map").ToArray(), 4);
        var codes = ReadBytes(Get(tensors, name));
        NestedAbsmax? nested = null;
        float[]? absmax = null;
        if (root.TryGetProperty("nested_blocksize", out var nestedBlockSize))
        {
            if (nestedBlockSize.GetInt32() != NestedAbsmax.BlockSize)
                throw new FormatException($"BnbState: '{name}' has nested_blocksize {nestedBlockSize.GetInt32()}, expected {NestedAbsmax.BlockSize}");
            nested = new NestedAbsmax(ReadBytes(Get(tensors, name + ".absmax")), Get(tensors, name + ".nested_absmax").ToArray(),
                (float)root.GetProperty("nested_offset").GetDouble(), new CodeBook("dynamic", Get(tensors, name + ".nested_quant_map").ToArray(), 8));
        }
        else absmax = Get(tensors, name + ".absmax").ToArray();
        return new QuantizedTensor(type, book, shape, blockSize, codes, absmax, nested)
        {
            OriginalDType = root.GetProperty("dtype").GetString()!,
        };
    }

    /// <summary>
    /// A float as Python's repr(float(x)) writes it: the shortest digits that round-trip the double, positional
    /// for 1e-4 ≤ |x| &lt; 1e16 (always with a decimal point), otherwise d.ddde±XX.
    /// </summary>
    public static string PythonRepr(double x)
    {
        if (double.IsNaN(x)) return "NaN";
        if (double.IsInfinity(x)) return x > 0 ? "Infinity" : "-Infinity";
        if (x == 0) return double.IsNegative(x) ? "-0.0" : "0.0";
        // shortest round-trip digits d1…dk of |x| and the decimal point position: |x| = 0.d1…dk × 10^point
        var r = Math.Abs(x).ToString("R", CultureInfo.InvariantCulture);   // "0.0123", "1E-05", "1.5E+16"
        int exponent = 0, ePos = r.IndexOf('E');
        if (ePos >= 0) { exponent = int.Parse(r[(ePos + 1)..], CultureInfo.InvariantCulture); r = r[..ePos]; }
        int dot = r.IndexOf('.');
        string digits = dot >= 0 ? r.Remove(dot, 1) : r;
        int point = (dot >= 0 ? dot : r.Length) + exponent;
        point -= digits.Length - digits.TrimStart('0').Length;
        digits = digits.Trim('0');
        string sign = x < 0 ? "-" : "";
        if (point > -4 && point <= 16)
        {
            if (point <= 0) return $"{sign}0.{new string('0', -point)}{digits}";
            if (point >= digits.Length) return $"{sign}{digits}{new string('0', point - digits.Length)}.0";
            return $"{sign}{digits[..point]}.{digits[point..]}";
        }
        string mantissa = digits.Length == 1 ? digits : $"{digits[0]}.{digits[1..]}";
        int exp10 = point - 1;
        return $"{sign}{mantissa}e{(exp10 < 0 ? "-" : "+")}{Math.Abs(exp10):00}";
    }

    private static Tensor Get(IReadOnlyDictionary<string, Tensor> tensors, string key) =>
        tensors.TryGetValue(key, out var t) ? t : throw new FormatException($"BnbState: missing tensor '{key}'");

    private static Tensor Bytes(byte[] data, params int[] shape) => new(new U8Storage((byte[])data.Clone()), shape);

    private static byte[] ReadBytes(Tensor t) => t.Storage is U8Storage u && t.IsContiguous
        ? u.Data.AsSpan((int)t.Offset, (int)t.Numel).ToArray()
        : throw new FormatException($"BnbState: tensor '{t.Name}' is {t.DType}{Shape.Format(t.Shape)}, expected contiguous U8");
}
