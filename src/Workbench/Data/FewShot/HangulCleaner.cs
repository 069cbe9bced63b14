namespace Workbench.Data.FewShot;

/// <summary>
/// The NSMC seed's cleaning, <c>re.sub("[^가-힣ㄱ-ㅎㅏ-ㅣ\\s]", "", s)</c>: keep Hangul syllables (U+AC00–U+D7A3),
/// compatibility jamo consonants ㄱ–ㅎ (U+3131–U+314E) and vowels ㅏ–ㅣ (U+314F–U+3163), and whitespace as
/// Python's <c>\s</c> matches it; drop everything else (Latin, digits, punctuation, emoji, archaic jamo,
/// conjoining jamo U+1100…). Whitespace is kept as it is: not collapsed, not stripped, not normalised — the
/// seed does none of that. NSMC itself contains no whitespace other than U+0020, so on NSMC this equals the
/// space-only class <c>[^ㄱ-ㅎㅏ-ㅣ가-힣 ]</c>.
/// </summary>
public static class HangulCleaner
{
    public static string Clean(string text) => string.Create(text.Count(Keep), text, (span, s) =>
    {
        int n = 0;
        foreach (char c in s) if (Keep(c)) span[n++] = c;
    });

    public static bool Keep(char c) => c is >= '가' and <= '힣' or >= 'ㄱ' and <= 'ㅎ' or >= 'ㅏ' and <= 'ㅣ' || IsPythonWhitespace(c);

    /// <summary>
    /// Python 3's <c>str.isspace()</c> set, which <c>re</c>'s <c>\s</c> matches for str patterns (differs from
    /// .NET's <c>\s</c> in including U+001C–U+001F). Surrogate halves are never kept, so an astral character
    /// (one code point in Python) is dropped whole, as in Python.
    /// </summary>
    public static bool IsPythonWhitespace(char c) => c switch
    {
        >= '\t' and <= '\r' => true,
        >= '\u001C' and <= ' ' => true,
        '\u0085' or '\u00A0' or '\u1680' or '\u2028' or '\u2029' or '\u202F' or '\u205F' or '\u3000' => true,
        >= '\u2000' and <= '\u200A' => true,
        _ => false,
    };
}
