using System.Globalization;
using System.Text;

namespace Workbench.Tokenizers;

/// <summary>
/// Managed Unicode NFC (UAX #15), because .NET under InvariantGlobalization returns strings
/// unnormalized. Tables: <see cref="UnicodeNfcData"/>; Hangul syllables are (de)composed arithmetically.
/// </summary>
public static class UnicodeNormalization
{
    const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7, LCount = 19, VCount = 21, TCount = 28, SCount = LCount * VCount * TCount;

    static readonly Dictionary<int, int[]> Decomposition = new();
    static readonly Dictionary<int, int> CombiningClass = new();
    static readonly Dictionary<long, int> Composition = new();
    /// <summary>Code points that may change under normalization or affect their neighbour; text without them is already NFC.</summary>
    static readonly HashSet<int> Unsafe = new();

    static UnicodeNormalization()
    {
        foreach (var (key, values) in Entries(UnicodeNfcData.Decompositions))
        {
            Decomposition[key[0]] = values;
            Unsafe.Add(key[0]);
        }
        foreach (var entry in UnicodeNfcData.CombiningClasses.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int colon = entry.IndexOf(':');
            int cp = int.Parse(entry.AsSpan(0, colon), NumberStyles.HexNumber);
            CombiningClass[cp] = int.Parse(entry.AsSpan(colon + 1));
            Unsafe.Add(cp);
        }
        foreach (var (pair, composite) in Entries(UnicodeNfcData.Compositions))
        {
            Composition[Key(pair[0], pair[1])] = composite[0];
            Unsafe.Add(pair[1]);
        }
        for (int t = TBase + 1; t < TBase + TCount; t++) Unsafe.Add(t);
        for (int v = VBase; v < VBase + VCount; v++) Unsafe.Add(v);
    }

    static IEnumerable<(int[] Left, int[] Right)> Entries(string table)
    {
        foreach (var entry in table.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var sides = entry.Split(':');
            yield return (Hex(sides[0]), Hex(sides[1]));
        }
        static int[] Hex(string s) => s.Split(',').Select(x => int.Parse(x, NumberStyles.HexNumber)).ToArray();
    }

    static long Key(int a, int b) => ((long)a << 21) | (uint)b;

    static int ClassOf(int cp) => CombiningClass.GetValueOrDefault(cp);

    /// <summary>The NFC form of <paramref name="text"/>.</summary>
    public static string Nfc(string text) => NeedsWork(text) ? ToText(Compose(Decompose(text))) : text;

    static bool NeedsWork(string text)
    {
        foreach (var rune in text.EnumerateRunes())
            if (rune.Value >= 0x300 && Unsafe.Contains(rune.Value)) return true;
        return false;
    }

    /// <summary>Full canonical decomposition, then canonical ordering of each run of combining marks.</summary>
    static List<int> Decompose(string text)
    {
        var cps = new List<int>(text.Length + 8);
        foreach (var rune in text.EnumerateRunes())
        {
            int cp = rune.Value, s = cp - SBase;
            if (s is >= 0 and < SCount)
            {
                cps.Add(LBase + s / (VCount * TCount));
                cps.Add(VBase + s % (VCount * TCount) / TCount);
                if (s % TCount != 0) cps.Add(TBase + s % TCount);
            }
            else if (Decomposition.TryGetValue(cp, out var parts)) cps.AddRange(parts);
            else cps.Add(cp);
        }
        // Stable insertion sort by combining class within runs of non-starters.
        for (int i = 1; i < cps.Count; i++)
        {
            int c = ClassOf(cps[i]);
            if (c == 0) continue;
            for (int j = i; j > 0 && ClassOf(cps[j - 1]) > c; j--) (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
        }
        return cps;
    }

    /// <summary>Canonical composition: a character joins the last starter if nothing stands between them, or only marks of lower class.</summary>
    static List<int> Compose(List<int> cps)
    {
        var result = new List<int>(cps.Count);
        int starter = -1;        // index in result of the last starter
        int lastClass = -1;      // class of the last character kept after that starter; -1: none
        foreach (int cp in cps)
        {
            int c = ClassOf(cp);
            if (starter >= 0 && (lastClass == -1 || (lastClass != 0 && lastClass < c)))
            {
                int composed = ComposePair(result[starter], cp);
                if (composed >= 0) { result[starter] = composed; continue; }
            }
            if (c == 0) { starter = result.Count; lastClass = -1; }
            else lastClass = c;
            result.Add(cp);
        }
        return result;
    }

    static int ComposePair(int a, int b)
    {
        int l = a - LBase, v = b - VBase, s = a - SBase, t = b - TBase;
        if (l is >= 0 and < LCount && v is >= 0 and < VCount) return SBase + (l * VCount + v) * TCount;
        if (s is >= 0 and < SCount && s % TCount == 0 && t is > 0 and < TCount) return a + t;
        return Composition.TryGetValue(Key(a, b), out int c) ? c : -1;
    }

    static string ToText(List<int> cps)
    {
        var sb = new StringBuilder(cps.Count);
        foreach (int cp in cps) sb.Append(char.ConvertFromUtf32(cp));
        return sb.ToString();
    }
}
