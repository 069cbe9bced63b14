namespace Workbench.Tokenizers;

/// <summary>
/// The minimal tokenizer contract the data pipeline codes against. <c>Encode(text, addSpecialTokens: true)</c>
/// behaves like Hugging Face's <c>tokenizer(text).input_ids</c> (adds whatever BOS/EOS the model's tokenizer
/// adds by default); <c>false</c> encodes the text alone.
/// </summary>
public interface ITokenizer
{
    int[] Encode(string text, bool addSpecialTokens = true);
    string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false);
    int VocabSize { get; }
    int? BosId { get; }
    int? EosId { get; }
    int? PadId { get; }
    string? IdToToken(int id);
    int? TokenToId(string token);
}
