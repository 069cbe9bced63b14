namespace Workbench.Data;

/// <summary>
/// SplitMix64 (Steele, Lea &amp; Flood 2014; Vigna's <c>splitmix64.c</c>): a tiny 64-bit generator whose output
/// is fixed by its definition, so shuffles are identical on every run, runtime and platform (unlike
/// <see cref="System.Random"/>, whose algorithm is not a contract).
/// </summary>
public sealed class SplitMix64(ulong seed)
{
    ulong _state = seed;

    public ulong NextUInt64()
    {
        // z = mix(state += φ·2⁶⁴): two xor-shift-multiply rounds and a final xor-shift
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform integer in [0, n) without modulo bias (Lemire's multiply-and-reject).</summary>
    public ulong NextBelow(ulong n)
    {
        if (n == 0) throw new ArgumentOutOfRangeException(nameof(n), "NextBelow needs n > 0");
        ulong hi = Math.BigMul(NextUInt64(), n, out ulong lo);
        if (lo < n)
        {
            ulong threshold = (0 - n) % n;   // 2⁶⁴ mod n
            while (lo < threshold) hi = Math.BigMul(NextUInt64(), n, out lo);
        }
        return hi;
    }

    /// <summary>Fisher–Yates, from the back: swap item i with a uniform j ≤ i.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = (int)NextBelow((ulong)i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
