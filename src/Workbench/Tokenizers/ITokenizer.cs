namespace Workbench.Tokenizers;

public interface ITokenizer { int[] Encode(string text, bool addSpecialTokens = true); string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false); int VocabSize { get; } int? BosId { get; } int? EosId { get; } int? PadId { get; } string? IdToToken(int id); int? TokenToId(string token); }
