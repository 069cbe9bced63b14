using System.Text;
using Workbench.Tokenizers;

namespace Workbench.Tests.Support;

/// <summary>
/// A tiny deterministic tokenizer for data tests: one id per UTF-8 byte (0–255) plus special tokens
/// &lt;|endoftext|&gt; = 256 (EOS), &lt;|pad|&gt; = 257 (PAD), &lt;s&gt; = 258 (BOS). Like Hugging Face
/// tokenizers, special-token text inside the input becomes the special id. With <c>addBos</c> it prepends BOS
/// when asked for special tokens (Llama style); without, it adds nothing (GPT-NeoX style).
/// </summary>
public sealed class ByteTokenizer(bool addBos = false) : ITokenizer
{
    public const int Eos = 256, Pad = 257, Bos = 258;
    static readonly (string Text, int Id)[] Specials = [("<|endoftext|>", Eos), ("<|pad|>", Pad), ("<s>", Bos)];

    public int VocabSize => 259;
    public int? BosId => Bos;
    public int? EosId => Eos;
    public int? PadId => Pad;

    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        var ids = new List<int>();
        if (addSpecialTokens && addBos) ids.Add(Bos);
        int start = 0;
        while (start < text.Length)
        {
            int at = -1, which = -1;
            for (int s = 0; s < Specials.Length; s++)
            {
                int i = text.IndexOf(Specials[s].Text, start, StringComparison.Ordinal);
                if (i >= 0 && (at < 0 || i < at)) { at = i; which = s; }
            }
            int end = at < 0 ? text.Length : at;
            foreach (byte b in Encoding.UTF8.GetBytes(text[start..end])) ids.Add(b);
            if (at < 0) break;
            ids.Add(Specials[which].Id);
            start = at + Specials[which].Text.Length;
        }
        return ids.ToArray();
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var sb = new StringBuilder();
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if (id < 256) { bytes.Add((byte)id); continue; }
            sb.Append(Encoding.UTF8.GetString(bytes.ToArray()));
            bytes.Clear();
            if (!skipSpecialTokens) sb.Append(IdToToken(id));
        }
        return sb.Append(Encoding.UTF8.GetString(bytes.ToArray())).ToString();
    }

    public string? IdToToken(int id) => id switch
    {
        >= 0 and < 256 => $"<0x{id:X2}>",
        _ => Specials.FirstOrDefault(s => s.Id == id).Text,
    };

    public int? TokenToId(string token)
    {
        foreach (var s in Specials) if (s.Text == token) return s.Id;
        if (token.Length == 6 && token.StartsWith("<0x") && token.EndsWith('>') &&
            int.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out int b)) return b;
        return null;
    }
}
