using System.Buffers.Binary;

namespace Nn.Simd.Layers;

/// <summary>
/// The random source of everything a model draws while training (shuffle orders, dropout masks, noise): the very
/// sequence of <c>new System.Random(seed)</c> — Knuth's subtractive generator (TAOCP vol. 2, §3.2.2), which .NET keeps
/// for seeded instances — with the generator's state held here, so that a checkpoint can save it and a resumed run
/// continue it exactly. <c>Next(n) = ⌊u·n⌋</c> and <c>NextDouble() = u</c> with <c>u = s / (2³¹ − 1)</c>, s the next
/// output of the lagged difference <c>s[k] = s[k − 55] − s[k − 24] mod (2³¹ − 1)</c>.
/// </summary>
/// <remarks>
/// Why not count draws on a <see cref="Random"/> and replay them on load: a seeded <see cref="Random"/> hides its
/// state, so a replay costs one step per draw ever made (a dropout layer draws one number per element per step, easily
/// 10⁹ in a long run, seconds of work at every load), and any draw that bypassed the counter would silently break it.
/// Owning the 56-word state makes saving and restoring exact and O(1), and the tests hold the sequence to
/// <see cref="Random"/>'s for many seeds, so the shuffle orders and masks of ordinary runs are those they always were.
/// </remarks>
internal sealed class ResumableRandom
{
    /// <summary>The state as saved: 56 words of the lag table (word 0 unused, as in the original), then the two indices.</summary>
    public const int StateLength = 58;

    private const int Mbig = int.MaxValue, Mseed = 161803398;
    private readonly int[] _seedArray = new int[56];
    private int _inext, _inextp;

    /// <summary>Starts the sequence of <c>new System.Random(seed)</c>.</summary>
    public ResumableRandom(int seed)
    {
        unchecked
        {
            int subtraction = seed == int.MinValue ? int.MaxValue : Math.Abs(seed);
            int mj = Mseed - subtraction, mk = 1, ii = 0;
            _seedArray[55] = mj;
            for (int i = 1; i < 55; i++)
            {
                if ((ii += 21) >= 55) ii -= 55;
                _seedArray[ii] = mk;
                mk = mj - mk;
                if (mk < 0) mk += Mbig;
                mj = _seedArray[ii];
            }
            for (int k = 1; k < 5; k++)
            {
                for (int i = 1; i < 56; i++)
                {
                    int n = i + 30;
                    if (n >= 55) n -= 55;
                    _seedArray[i] -= _seedArray[1 + n];
                    if (_seedArray[i] < 0) _seedArray[i] += Mbig;
                }
            }
        }
        _inext = 0;
        _inextp = 21;
    }

    /// <summary>A draw in [0, <paramref name="maxValue"/>), as <see cref="Random.Next(int)"/>: ⌊u·maxValue⌋.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxValue"/> is negative.</exception>
    public int Next(int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        return (int)(Sample() * maxValue);
    }

    /// <summary>A draw in [0, 1), as <see cref="Random.NextDouble"/>.</summary>
    public double NextDouble() => Sample();

    /// <summary>A draw from N(0, 1) by the Box–Muller transform from two uniforms, the same arithmetic as
    /// <c>RandomExtensions.NextGaussian</c> on a <see cref="Random"/>.</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(); // in (0, 1], so the log is finite
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    private double Sample() => InternalSample() * (1.0 / Mbig);

    private int InternalSample()
    {
        int inext = _inext, inextp = _inextp;
        if (++inext >= 56) inext = 1;
        if (++inextp >= 56) inextp = 1;
        int value = unchecked(_seedArray[inext] - _seedArray[inextp]);
        if (value == Mbig) value--;
        if (value < 0) value += Mbig;
        _seedArray[inext] = value;
        _inext = inext;
        _inextp = inextp;
        return value;
    }

    /// <summary>The state as <see cref="StateLength"/> little-endian 32-bit words.</summary>
    public byte[] GetState()
    {
        var bytes = new byte[StateLength * 4];
        for (int i = 0; i < 56; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * i), _seedArray[i]);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * 56), _inext);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * 57), _inextp);
        return bytes;
    }

    /// <summary>Why <paramref name="state"/> cannot be a state of this generator, or null when it can: it must hold
    /// <see cref="StateLength"/> words whose two indices are 0 and 21 (fresh) or in [1, 55] with
    /// <c>inextp − inext ≡ 21 (mod 55)</c>, the distance the generator keeps between them.</summary>
    public static string? CheckState(ReadOnlySpan<byte> state)
    {
        if (state.Length != StateLength * 4)
            return $"a generator state is {StateLength * 4} bytes ({StateLength} 32-bit words); got {state.Length}";
        int inext = BinaryPrimitives.ReadInt32LittleEndian(state[(4 * 56)..]), inextp = BinaryPrimitives.ReadInt32LittleEndian(state[(4 * 57)..]);
        bool fresh = inext == 0 && inextp == 21;
        bool running = inext is >= 1 and <= 55 && inextp is >= 1 and <= 55 && ((inextp - inext) % 55 + 55) % 55 == 21;
        return fresh || running ? null : $"the generator indices ({inext}, {inextp}) are not a reachable pair";
    }

    /// <summary>Continues from a state returned by <see cref="GetState"/>.</summary>
    /// <exception cref="ArgumentException">The state fails <see cref="CheckState"/>.</exception>
    public void SetState(ReadOnlySpan<byte> state)
    {
        if (CheckState(state) is { } why) throw new ArgumentException(why, nameof(state));
        for (int i = 0; i < 56; i++) _seedArray[i] = BinaryPrimitives.ReadInt32LittleEndian(state[(4 * i)..]);
        _inext = BinaryPrimitives.ReadInt32LittleEndian(state[(4 * 56)..]);
        _inextp = BinaryPrimitives.ReadInt32LittleEndian(state[(4 * 57)..]);
    }
}
