using System.Buffers;
using Microsoft.ML.Tokenizers;

namespace Workbench.Tokenizers;

/// <summary>
/// A Workbench tokenizer (<see cref="HfTokenizer"/>, <see cref="SentencePieceTokenizer"/>) that is also a
/// Microsoft.ML.Tokenizers <see cref="Microsoft.ML.Tokenizers.Tokenizer"/>, so libraries that take one (Semantic
/// Kernel, Microsoft.Extensions.AI text chunkers, ML.GenAI) get our exact ids. Through that abstraction a text
/// encodes as Hugging Face's <c>add_special_tokens=False</c> does; <see cref="Encode"/> adds them unless asked not to.
/// Offsets are found by decoding tokens back into the text (<see cref="TokenOffsets"/>).
/// </summary>
public abstract class Tokenizer : Microsoft.ML.Tokenizers.Tokenizer, ITokenizer
{
    public abstract int VocabSize { get; }
    public abstract int? BosId { get; }
    public abstract int? EosId { get; }
    public abstract int? PadId { get; }
    public abstract int[] Encode(string text, bool addSpecialTokens = true);
    public abstract string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false);
    public abstract string? IdToToken(int id);
    public abstract int? TokenToId(string token);

    /// <summary>
    /// <paramref name="path"/> is a folder holding <c>tokenizer.json</c> (with an optional <c>tokenizer_config.json</c>)
    /// or <c>tokenizer.model</c>, or one of those files itself.
    /// </summary>
    public static Tokenizer Load(string path)
    {
        if (Directory.Exists(path))
        {
            string json = Path.Combine(path, "tokenizer.json"), model = Path.Combine(path, "tokenizer.model");
            if (File.Exists(json)) return HfTokenizer.Load(json);
            if (File.Exists(model)) return SentencePieceTokenizer.Load(model);
            throw new FileNotFoundException($"{path}: folder has neither tokenizer.json nor tokenizer.model", path);
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such tokenizer file or folder", path);
        return IsJson(path) ? HfTokenizer.Load(path) : SentencePieceTokenizer.Load(path);
    }

    public override string Decode(IEnumerable<int> ids) => Decode(ids, skipSpecialTokens: false);

    public override OperationStatus Decode(IEnumerable<int> ids, Span<char> destination, out int idsConsumed, out int charsWritten)
    {
        var all = ids.ToArray();
        for (int n = all.Length; n >= 0; n--)
        {
            string text = Decode(all[..n], skipSpecialTokens: false);
            if (text.Length > destination.Length) continue;
            text.CopyTo(destination);
            (idsConsumed, charsWritten) = (n, text.Length);
            return n == all.Length ? OperationStatus.Done : OperationStatus.DestinationTooSmall;
        }
        (idsConsumed, charsWritten) = (0, 0);
        return OperationStatus.DestinationTooSmall;
    }

    protected override EncodeResults<EncodedToken> EncodeToTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        string input = text ?? textSpan.ToString();
        int[] ids = Encode(input, addSpecialTokens: false);
        var offsets = TokenOffsets.Of(this, input, ids);
        int count = settings.MaxTokenCount is > 0 and var max && max < ids.Length ? TokenOffsets.WholeTokens(offsets, max) : ids.Length;
        var tokens = new EncodedToken[count];
        for (int i = 0; i < count; i++) tokens[i] = new EncodedToken(ids[i], IdToToken(ids[i]) ?? "", offsets[i]);
        return new EncodeResults<EncodedToken> { Tokens = tokens, CharsConsumed = count == 0 ? 0 : offsets[count - 1].End.Value };
    }

    protected override EncodeResults<int> EncodeToIds(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        string input = text ?? textSpan.ToString();
        int[] ids = Encode(input, addSpecialTokens: false);
        if (settings.MaxTokenCount is <= 0 || settings.MaxTokenCount >= ids.Length)
            return new EncodeResults<int> { Tokens = ids, CharsConsumed = input.Length };
        var offsets = TokenOffsets.Of(this, input, ids);
        int count = TokenOffsets.WholeTokens(offsets, settings.MaxTokenCount);
        return new EncodeResults<int> { Tokens = ids[..count], CharsConsumed = count == 0 ? 0 : offsets[count - 1].End.Value };
    }

    protected override int CountTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings) =>
        Encode(text ?? textSpan.ToString(), addSpecialTokens: false).Length;

    protected override int GetIndexByTokenCount(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings, bool fromEnd,
        out string? normalizedText, out int tokenCount)
    {
        string input = text ?? textSpan.ToString();
        normalizedText = null;   // offsets refer to the text as given
        int[] ids = Encode(input, addSpecialTokens: false);
        var offsets = TokenOffsets.Of(this, input, ids);
        int max = settings.MaxTokenCount;
        if (!fromEnd)
        {
            tokenCount = TokenOffsets.WholeTokens(offsets, max);
            return tokenCount == 0 ? 0 : offsets[tokenCount - 1].End.Value;
        }
        tokenCount = TokenOffsets.WholeTokensFromEnd(offsets, max);
        return tokenCount == 0 ? input.Length : offsets[^tokenCount].Start.Value;
    }

    private static bool IsJson(string path)
    {
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) return true;
        if (path.EndsWith(".model", StringComparison.OrdinalIgnoreCase)) return false;
        using var stream = File.OpenRead(path);
        int b;
        while ((b = stream.ReadByte()) is ' ' or '\t' or '\r' or '\n' or 0xEF or 0xBB or 0xBF) { }
        return b == '{';
    }
}
