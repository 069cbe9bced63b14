namespace Workbench.Data;

/// <summary>
/// The parts of CPython's <c>random.Random</c> (3.x) that the NSMC seed uses: <c>seed(int)</c>,
/// <c>getrandbits(k ≤ 32)</c>, <c>_randbelow</c> and <c>sample</c>, reproducing its draws exactly.
/// </summary>
public sealed class PythonRandom
{
    readonly MersenneTwister _mt;

    /// <summary><c>random.seed(seed)</c> for a non-negative integer seed.</summary>
    public PythonRandom(ulong seed)
    {
        uint lo = (uint)seed, hi = (uint)(seed >> 32);
        _mt = hi == 0 ? MersenneTwister.FromKey([lo]) : MersenneTwister.FromKey([lo, hi]);
    }

    /// <summary><c>getrandbits(k)</c> for 0 &lt; k ≤ 32: the top k bits of one 32-bit output.</summary>
    public uint GetRandBits(int k)
    {
        if (k is <= 0 or > 32) throw new ArgumentOutOfRangeException(nameof(k), $"GetRandBits supports 1..32 bits, got {k}");
        return _mt.NextUInt32() >> (32 - k);
    }

    /// <summary><c>_randbelow_with_getrandbits(n)</c>: draw bit_length(n) bits until the value is below n.</summary>
    public int RandBelow(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), $"RandBelow needs n > 0, got {n}");
        int k = 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)n);
        uint r = GetRandBits(k);
        while (r >= (uint)n) r = GetRandBits(k);
        return (int)r;
    }

    /// <summary>
    /// <c>random.sample(population, k)</c>: for small populations (n ≤ setsize) a partial shuffle of a copy,
    /// otherwise repeated <c>_randbelow(n)</c> rejecting indices already chosen. Result in selection order.
    /// </summary>
    public T[] Sample<T>(IReadOnlyList<T> population, int k)
    {
        int n = population.Count;
        if (k < 0 || k > n) throw new ArgumentOutOfRangeException(nameof(k), $"Sample larger than population or is negative (k={k}, n={n})");
        var result = new T[k];
        // setsize = 21 (+ 4^⌈log₄(3k)⌉ when k > 5): the size below which a list copy is cheaper than a set
        int setsize = 21;
        if (k > 5) setsize += (int)Math.Pow(4, Math.Ceiling(Math.Log(k * 3) / Math.Log(4)));
        if (n <= setsize)
        {
            var pool = population.ToArray();
            for (int i = 0; i < k; i++)
            {
                int j = RandBelow(n - i);
                result[i] = pool[j];
                pool[j] = pool[n - i - 1];
            }
        }
        else
        {
            var selected = new HashSet<int>();
            for (int i = 0; i < k; i++)
            {
                int j = RandBelow(n);
                while (selected.Contains(j)) j = RandBelow(n);
                selected.Add(j);
                result[i] = population[j];
            }
        }
        return result;
    }
}
