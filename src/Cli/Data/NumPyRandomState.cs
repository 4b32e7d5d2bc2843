namespace Nn.Simd.Cli.Data;

/// <summary>
/// A Mersenne Twister (MT19937) with the semantics of NumPy's legacy <c>numpy.random.RandomState</c>:
/// integer seeding through <c>init_genrand</c>, 53-bit doubles built from two 32-bit outputs, and the
/// Marsaglia polar method for normals with the second value cached.
/// </summary>
/// <remarks>
/// This exists so the nnfs spiral data set (which draws from <c>np.random.randn</c> after
/// <c>np.random.seed(0)</c>) can be reproduced bit for bit. The algorithms are the published MT19937
/// (Matsumoto and Nishimura, 1998) and the polar method as NumPy's legacy generator applies it.
/// </remarks>
public sealed class NumPyRandomState
{
    private const int N = 624;
    private const int M = 397;
    private const uint MatrixA = 0x9908b0dfu;
    private const uint UpperMask = 0x80000000u;
    private const uint LowerMask = 0x7fffffffu;

    private readonly uint[] _mt = new uint[N];
    private int _index;
    private bool _hasGauss;
    private double _gauss;

    /// <summary>Creates a generator seeded like <c>np.random.seed(seed)</c>.</summary>
    /// <param name="seed">The 32-bit seed.</param>
    public NumPyRandomState(uint seed) => Seed(seed);

    /// <summary>Re-seeds like <c>np.random.seed(seed)</c> (<c>init_genrand</c>); clears the cached normal.</summary>
    /// <param name="seed">The 32-bit seed.</param>
    public void Seed(uint seed)
    {
        _mt[0] = seed;
        for (int i = 1; i < N; i++)
        {
            uint prev = _mt[i - 1];
            _mt[i] = unchecked(1812433253u * (prev ^ (prev >> 30)) + (uint)i);
        }
        _index = N;
        _hasGauss = false;
        _gauss = 0;
    }

    /// <summary>The next raw 32-bit output (tempered), as <c>genrand_int32</c>.</summary>
    public uint NextUInt32()
    {
        if (_index >= N) Twist();
        uint y = _mt[_index++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        return y;
    }

    /// <summary>
    /// A double uniform on [0, 1) with 53 random bits: <c>((a &gt;&gt; 5)·2^26 + (b &gt;&gt; 6)) / 2^53</c>
    /// from two consecutive 32-bit outputs, as <c>np.random.random_sample</c>.
    /// </summary>
    public double NextDouble()
    {
        uint a = NextUInt32() >> 5;
        uint b = NextUInt32() >> 6;
        return (a * 67108864.0 + b) / 9007199254740992.0;
    }

    /// <summary>
    /// A standard normal draw, as <c>np.random.standard_normal</c> / <c>randn</c> in the legacy generator:
    /// the polar method returns <c>x2·f</c> and caches <c>x1·f</c> for the next call.
    /// </summary>
    public double StandardNormal()
    {
        if (_hasGauss)
        {
            _hasGauss = false;
            double cached = _gauss;
            _gauss = 0;
            return cached;
        }

        double x1, x2, r2;
        do
        {
            x1 = 2.0 * NextDouble() - 1.0;
            x2 = 2.0 * NextDouble() - 1.0;
            r2 = x1 * x1 + x2 * x2;
        }
        while (r2 >= 1.0 || r2 == 0.0);

        double f = Math.Sqrt(-2.0 * Math.Log(r2) / r2);
        _gauss = f * x1;
        _hasGauss = true;
        return f * x2;
    }

    /// <summary>Fills <paramref name="destination"/> with standard normal draws, in order.</summary>
    /// <param name="destination">Receives the draws.</param>
    public void StandardNormal(Span<double> destination)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = StandardNormal();
    }

    private void Twist()
    {
        uint y;
        int k = 0;
        for (; k < N - M; k++)
        {
            y = (_mt[k] & UpperMask) | (_mt[k + 1] & LowerMask);
            _mt[k] = _mt[k + M] ^ (y >> 1) ^ ((y & 1u) * MatrixA);
        }
        for (; k < N - 1; k++)
        {
            y = (_mt[k] & UpperMask) | (_mt[k + 1] & LowerMask);
            _mt[k] = _mt[k + (M - N)] ^ (y >> 1) ^ ((y & 1u) * MatrixA);
        }
        y = (_mt[N - 1] & UpperMask) | (_mt[0] & LowerMask);
        _mt[N - 1] = _mt[M - 1] ^ (y >> 1) ^ ((y & 1u) * MatrixA);
        _index = 0;
    }
}
