namespace Workbench.Tokenizers;

/// <summary>
/// Text ↔ token ids. Implementations reproduce their reference library id for id:
/// Hugging Face <c>tokenizers</c> for <c>tokenizer.json</c>, <c>sentencepiece</c> for <c>.model</c> files.
/// </summary>
public interface ITokenizer
{
    /// <summary>One past the largest id (model vocabulary and added tokens): the embedding needs this many rows.</summary>
    int VocabSize { get; }

    int? BosId { get; }
    int? EosId { get; }
    int? PadId { get; }

    /// <summary>Token ids of <paramref name="text"/>; with <paramref name="addSpecialTokens"/> the BOS/EOS the tokenizer's post-processing adds.</summary>
    int[] Encode(string text, bool addSpecialTokens = true);

    /// <summary>Text of <paramref name="ids"/>; with <paramref name="skipSpecialTokens"/> special tokens are left out.</summary>
    string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false);

    /// <summary>The vocabulary entry of <paramref name="id"/> (e.g. "Ġthe", "▁the", "&lt;0x0A&gt;"), or null if out of range.</summary>
    string? IdToToken(int id);

    /// <summary>The id of a vocabulary entry, or null if it is not one.</summary>
    int? TokenToId(string token);
}
