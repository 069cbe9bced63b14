using Workbench.Formats;
using System.Text.Json;

namespace Workbench.Tokenizers;

/// <summary>The parts of transformers' <c>tokenizer_config.json</c> that change encoding: special token names and add_bos/add_eos.</summary>
public sealed record TokenizerConfig(string? BosToken, string? EosToken, string? PadToken, bool? AddBosToken, bool? AddEosToken)
{
    public static readonly TokenizerConfig Empty = new(null, null, null, null, null);

    /// <summary>Reads <c>tokenizer_config.json</c> beside <paramref name="tokenizerFile"/>, or <see cref="Empty"/> if there is none.</summary>
    public static TokenizerConfig LoadBeside(string tokenizerFile)
    {
        string path = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(tokenizerFile))!, "tokenizer_config.json");
        if (Directory.Exists(path)) throw new FormatException($"{path}: is a folder, not a JSON file");
        if (!File.Exists(path)) return Empty;
        using var doc = JsonFile.Parse(path);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new FormatException($"{path}: expected a JSON object");
        return new TokenizerConfig(Token(root, "bos_token"), Token(root, "eos_token"), Token(root, "pad_token"), Bool(root, "add_bos_token"), Bool(root, "add_eos_token"));
    }

    /// <summary>A token given as a string or as an AddedToken object <c>{"content": ...}</c>.</summary>
    static string? Token(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var v) ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()
        : v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) ? c.GetString()
        : null;

    static bool? Bool(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;
}
