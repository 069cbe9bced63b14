namespace Workbench.Data;

/// <summary>
/// The parts of NumPy's legacy <c>np.random.RandomState</c> that pandas' <c>DataFrame.sample(n,
/// random_state=seed)</c> uses: it calls <c>RandomState(seed).choice(len, n, replace=False)</c>, which is
/// <c>permutation(len)[:n]</c>, a Fisher–Yates shuffle from the back with <c>random_interval</c> draws.
/// </summary>
public sealed class NumpyRandomState(uint seed)
{
    readonly MersenneTwister _mt = MersenneTwister.FromSeed(seed);

    /// <summary><c>random_interval(max)</c>: uniform in [0, max] by masking 32-bit draws to max's bit width and rejecting.</summary>
    public uint RandomInterval(uint max)
    {
        if (max == 0) return 0;
        uint mask = max;
        mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4; mask |= mask >> 8; mask |= mask >> 16;
        uint value;
        while ((value = _mt.NextUInt32() & mask) > max) { }
        return value;
    }

    /// <summary><c>permutation(n)</c>: arange(n) shuffled, for i = n−1 … 1 swap i with random_interval(i).</summary>
    public int[] Permutation(int n)
    {
        var a = Enumerable.Range(0, n).ToArray();
        for (int i = n - 1; i > 0; i--)
        {
            int j = (int)RandomInterval((uint)i);
            (a[i], a[j]) = (a[j], a[i]);
        }
        return a;
    }

    /// <summary><c>choice(n, size, replace=False)</c> without weights.</summary>
    public int[] ChoiceWithoutReplacement(int n, int size)
    {
        if (size < 0 || size > n) throw new ArgumentOutOfRangeException(nameof(size), $"Cannot take a larger sample than population when 'replace=False' (size={size}, n={n})");
        return Permutation(n)[..size];
    }
}
