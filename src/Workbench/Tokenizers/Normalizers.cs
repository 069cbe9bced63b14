using System.Text.Json;

namespace Workbench.Tokenizers;

/// <summary>A tokenizer.json normalizer: rewrites text before pre-tokenization.</summary>
public interface INormalizer
{
    string Normalize(string text);
}

/// <summary>The normalizers of tokenizer.json that the supported files use.</summary>
public static class Normalizers
{
    public static INormalizer? FromJson(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Null) return null;
        string type = e.GetProperty("type").GetString()!;
        return type switch
        {
            "NFC" => new Nfc(),
            "Lowercase" => new Lowercase(),
            "Prepend" => new Prepend(e.GetProperty("prepend").GetString()!),
            "Replace" => new Replace(JsonPattern.FromJson(e.GetProperty("pattern"), "Replace normalizer"), e.GetProperty("content").GetString()!),
            "Strip" => new Strip(e.GetProperty("strip_left").GetBoolean(), e.GetProperty("strip_right").GetBoolean()),
            "Sequence" => new Sequence(e.GetProperty("normalizers").EnumerateArray().Select(n => FromJson(n)!).ToArray()),
            _ => throw new NotSupportedException($"tokenizer.json: normalizer type '{type}' is not supported"),
        };
    }

    /// <summary>NFC, computed by <see cref="UnicodeNormalization"/> (string.Normalize does nothing under InvariantGlobalization).</summary>
    sealed class Nfc : INormalizer
    {
        public string Normalize(string text) => UnicodeNormalization.Nfc(text);
    }

    sealed class Lowercase : INormalizer
    {
        public string Normalize(string text) => text.ToLowerInvariant();
    }

    /// <summary>Prepends a string to non-empty text (Mistral: "▁").</summary>
    sealed class Prepend(string prefix) : INormalizer
    {
        public string Normalize(string text) => text.Length == 0 ? text : prefix + text;
    }

    sealed class Replace(JsonPattern pattern, string content) : INormalizer
    {
        public string Normalize(string text) => pattern.Replace(text, content);
    }

    sealed class Strip(bool left, bool right) : INormalizer
    {
        public string Normalize(string text) => left && right ? text.Trim() : left ? text.TrimStart() : right ? text.TrimEnd() : text;
    }

    sealed class Sequence(INormalizer[] steps) : INormalizer
    {
        public string Normalize(string text)
        {
            foreach (var step in steps) text = step.Normalize(text);
            return text;
        }
    }
}
