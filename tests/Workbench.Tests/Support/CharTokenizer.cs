using Workbench.Tokenizers;

namespace Workbench.Tests.Support;

/// <summary>A stand-in tokenizer for tests: one id per character (code mod 61, plus 3), BOS 1, EOS 2, PAD 0.</summary>
public sealed class CharTokenizer : ITokenizer
{
    public int VocabSize => 64;
    public int? BosId => 1;
    public int? EosId => 2;
    public int? PadId => 0;

    public int[] Encode(string text, bool addSpecialTokens = true) =>
        (addSpecialTokens ? [1] : Array.Empty<int>()).Concat(text.Select(c => 3 + c % 61)).ToArray();

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false) =>
        string.Concat(ids.Where(i => !skipSpecialTokens || i > 2).Select(i => IdToToken(i)));

    public string? IdToToken(int id) => id switch { 0 => "<pad>", 1 => "<s>", 2 => "</s>", _ => ((char)('0' + (id - 3) % 61)).ToString() };

    public int? TokenToId(string token) => token.Length == 1 ? 3 + token[0] % 61 : null;
}
