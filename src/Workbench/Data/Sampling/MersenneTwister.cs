namespace Workbench.Data;

/// <summary>
/// MT19937 (Matsumoto &amp; Nishimura 1998), the generator behind Python's <c>random</c> and NumPy's legacy
/// <c>RandomState</c>. Implemented here so the NSMC seed protocol's draws (<c>random.sample</c>,
/// <c>DataFrame.sample(random_state=...)</c>) are reproduced exactly, not just "seeded".
/// </summary>
public sealed class MersenneTwister
{
    const int N = 624, M = 397;
    const uint MatrixA = 0x9908B0DFu, UpperMask = 0x80000000u, LowerMask = 0x7FFFFFFFu;

    readonly uint[] _mt = new uint[N];
    int _index = N;

    MersenneTwister() { }

    /// <summary><c>init_genrand(s)</c>: NumPy's <c>RandomState(int)</c> seeding.</summary>
    public static MersenneTwister FromSeed(uint seed)
    {
        var g = new MersenneTwister();
        g.InitGenrand(seed);
        return g;
    }

    /// <summary><c>init_by_array(key)</c>: Python's <c>random.seed(int)</c> seeding (key = the int's 32-bit words, low first).</summary>
    public static MersenneTwister FromKey(ReadOnlySpan<uint> key)
    {
        if (key.Length == 0) throw new ArgumentException("MersenneTwister.FromKey: empty key");
        var g = new MersenneTwister();
        var mt = g._mt;
        g.InitGenrand(19650218u);
        int i = 1, j = 0;
        for (int k = Math.Max(N, key.Length); k > 0; k--)
        {
            // mt[i] = (mt[i] ⊕ (mt[i−1] ⊕ mt[i−1]≫30)·1664525) + key[j] + j   (mod 2³²)
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint)j;
            i++; j++;
            if (i >= N) { mt[0] = mt[N - 1]; i = 1; }
            if (j >= key.Length) j = 0;
        }
        for (int k = N - 1; k > 0; k--)
        {
            // mt[i] = (mt[i] ⊕ (mt[i−1] ⊕ mt[i−1]≫30)·1566083941) − i   (mod 2³²)
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - (uint)i;
            i++;
            if (i >= N) { mt[0] = mt[N - 1]; i = 1; }
        }
        mt[0] = 0x80000000u;
        return g;
    }

    void InitGenrand(uint seed)
    {
        _mt[0] = seed;
        // mt[i] = 1812433253·(mt[i−1] ⊕ mt[i−1]≫30) + i   (mod 2³²)
        for (int i = 1; i < N; i++) _mt[i] = 1812433253u * (_mt[i - 1] ^ (_mt[i - 1] >> 30)) + (uint)i;
        _index = N;
    }

    public uint NextUInt32()
    {
        if (_index >= N) Twist();
        uint y = _mt[_index++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9D2C5680u;
        y ^= (y << 15) & 0xEFC60000u;
        y ^= y >> 18;
        return y;
    }

    void Twist()
    {
        for (int k = 0; k < N; k++)
        {
            uint y = (_mt[k] & UpperMask) | (_mt[(k + 1) % N] & LowerMask);
            _mt[k] = _mt[(k + M) % N] ^ (y >> 1) ^ ((y & 1) != 0 ? MatrixA : 0);
        }
        _index = 0;
    }
}
