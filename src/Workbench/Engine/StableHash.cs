namespace Workbench.Engine;

/// <summary>
/// Hashes that are the same in every process and on every machine, for seeds: <c>string.GetHashCode</c> and
/// <c>HashCode.Combine</c> are randomised per process, so a seed derived from them changes from run to run.
/// </summary>
public static class StableHash
{
    /// <summary>FNV-1a over the UTF-16 code units: h ← (h ⊕ c) · 16777619 from 2166136261.</summary>
    public static int Of(string text)
    {
        unchecked
        {
            int h = (int)2166136261;
            foreach (char c in text) h = (h ^ c) * 16777619;
            return h;
        }
    }

    /// <summary>One 64-bit value from several: each folded in with SplitMix64's finaliser, Mix(Mix(Mix(a) ⊕ b) ⊕ c).</summary>
    public static ulong Combine(long a, long b, long c) => Mix(Mix(Mix((ulong)a) ^ (ulong)b) ^ (ulong)c);

    /// <summary>SplitMix64's finaliser: a bijection of 64-bit values whose output bits each depend on every input bit.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
