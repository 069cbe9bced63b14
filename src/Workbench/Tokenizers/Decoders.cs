using System.Text;
using System.Text.Json;

namespace Workbench.Tokenizers;

/// <summary>A tokenizer.json decoder: turns the token strings of ids back into text pieces.</summary>
public interface IDecoder
{
    List<string> DecodeChain(List<string> tokens);
}

/// <summary>The decoders of tokenizer.json that the supported files use.</summary>
public static class Decoders
{
    public static IDecoder? FromJson(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Null) return null;
        string type = e.GetProperty("type").GetString()!;
        return type switch
        {
            "ByteLevel" => new ByteLevel(),
            "Replace" => new Replace(JsonPattern.FromJson(e.GetProperty("pattern"), "Replace decoder"), e.GetProperty("content").GetString()!),
            "ByteFallback" => new ByteFallback(),
            "Fuse" => new Fuse(),
            "Strip" => new Strip(e.GetProperty("content").GetString()!.Single(), e.GetProperty("start").GetInt32(), e.GetProperty("stop").GetInt32()),
            "Metaspace" => new Metaspace(e.GetProperty("replacement").GetString()!.Single(),
                e.TryGetProperty("prepend_scheme", out var s) ? s.GetString() != "never" : PreTokenizers.Flag(e, "add_prefix_space", true)),
            "Sequence" => new Sequence(e.GetProperty("decoders").EnumerateArray().Select(d => FromJson(d)!).ToArray()),
            _ => throw new NotSupportedException($"tokenizer.json: decoder type '{type}' is not supported"),
        };
    }

    /// <summary>Maps alphabet characters back to bytes and reads them as UTF-8; a token with a character outside the alphabet contributes its own UTF-8.</summary>
    sealed class ByteLevel : IDecoder
    {
        public List<string> DecodeChain(List<string> tokens)
        {
            var bytes = new List<byte>();
            foreach (var token in tokens)
            {
                int mark = bytes.Count;
                foreach (char c in token)
                {
                    if (ByteLevelAlphabet.TryGetByte(c, out byte b)) { bytes.Add(b); continue; }
                    bytes.RemoveRange(mark, bytes.Count - mark);
                    bytes.AddRange(Encoding.UTF8.GetBytes(token));
                    break;
                }
            }
            return [Encoding.UTF8.GetString(bytes.ToArray())];
        }
    }

    sealed class Replace(JsonPattern pattern, string content) : IDecoder
    {
        public List<string> DecodeChain(List<string> tokens) => tokens.Select(t => pattern.Replace(t, content)).ToList();
    }

    /// <summary>Runs of "&lt;0xNN&gt;" tokens become their UTF-8 text, or one U+FFFD per byte if the run is not valid UTF-8.</summary>
    sealed class ByteFallback : IDecoder
    {
        static readonly UTF8Encoding Strict = new(false, throwOnInvalidBytes: true);

        public List<string> DecodeChain(List<string> tokens)
        {
            var result = new List<string>(tokens.Count);
            var run = new List<byte>();
            void Flush()
            {
                if (run.Count == 0) return;
                try { result.Add(Strict.GetString(run.ToArray())); }
                catch (DecoderFallbackException) { result.AddRange(Enumerable.Repeat("\uFFFD", run.Count)); }
                run.Clear();
            }
            foreach (var token in tokens)
            {
                if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>' &&
                    byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b))
                {
                    run.Add(b);
                    continue;
                }
                Flush();
                result.Add(token);
            }
            Flush();
            return result;
        }
    }

    sealed class Fuse : IDecoder
    {
        public List<string> DecodeChain(List<string> tokens) => [string.Concat(tokens)];
    }

    /// <summary>Removes up to <c>start</c> leading and <c>stop</c> trailing <c>content</c> characters from each token.</summary>
    sealed class Strip(char content, int start, int stop) : IDecoder
    {
        public List<string> DecodeChain(List<string> tokens) => tokens.Select(token =>
        {
            int from = 0, to = token.Length;
            while (from < start && from < to && token[from] == content) from++;
            while (token.Length - to < stop && to > from && token[to - 1] == content) to--;
            return token[from..to];
        }).ToList();
    }

    /// <summary>The replacement ("▁") becomes a space, except in the first token, where it is dropped when a prefix was prepended.</summary>
    sealed class Metaspace(char replacement, bool prepended) : IDecoder
    {
        public List<string> DecodeChain(List<string> tokens) => tokens.Select((token, i) =>
            i == 0 && prepended ? token.Replace(replacement.ToString(), "") : token.Replace(replacement, ' ')).ToList();
    }

    sealed class Sequence(IDecoder[] steps) : IDecoder
    {
        public List<string> DecodeChain(List<string> tokens)
        {
            foreach (var step in steps) tokens = step.DecodeChain(tokens);
            return tokens;
        }
    }
}
