using System.Text.Json;
using Workbench.Tests.Support;
using Workbench.Tokenizers;

namespace Workbench.Tests.Tokenizers;

public class UnicodeNormalizationTests
{
    [Fact]
    public void NfcMatchesPythonUnicodedata()
    {
        // 1,000 random strings of letters, combining marks, jamo and singletons (make_unicode_tables.py).
        var failures = new List<string>();
        foreach (var line in File.ReadLines(Fixtures.PathOf("tokenizers/nfc_cases.jsonl")))
        {
            var pair = JsonSerializer.Deserialize<string[]>(line)!;
            string actual = UnicodeNormalization.Nfc(pair[0]);
            if (actual != pair[1]) failures.Add($"{line} gave {JsonSerializer.Serialize(actual)}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(5)));
    }

    [Theory]
    [InlineData("cafe\u0301", "caf\u00E9")]
    [InlineData("\uF9FE", "\u8336")]                  // CJK compatibility ideograph → unified (singleton)
    [InlineData("\u1100\u1161\u11A8", "\uAC01")]      // conjoining jamo → Hangul syllable
    [InlineData("a\u0323\u0302", "\u1EAD")]            // marks reordered by class, then composed
    [InlineData("plain ASCII and 한국어", "plain ASCII and 한국어")]
    public void NfcExamples(string input, string expected) => Assert.Equal(expected, UnicodeNormalization.Nfc(input));
}
