using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nn.Simd.Tensors.Kernels.Common;

/// <summary>
/// A vectorised <c>e^x</c> for float, used by the fused gate kernels and the softmax loops; the runtime's
/// <c>Vector512.Exp(Vector512&lt;float&gt;)</c> measured about 3× slower here.
/// </summary>
/// <remarks>
/// <para>Method (Cephes' <c>expf</c>): <c>x = n·ln2 + r</c> with <c>n</c> = x·log2(e) rounded to nearest (by adding
/// 1.5·2²³, which also leaves n in the low bits for building 2ⁿ), so <c>|r| ≤ ln2/2</c>;
/// <c>r</c> is formed with ln2 split in two parts (the first exact in few bits, so <c>n·Ln2Hi</c> is exact), <c>e^r</c>
/// is a degree-7 polynomial, and <c>2^n</c> is built in the exponent bits.</para>
/// <para>Range: results are within 2 ulp of the correctly rounded value for <c>x</c> in [−86.98, 88.72]. Below
/// about −86.99 (where e^x &lt; 2.4e−38, near the bottom of the normal range) the result is 0 instead of a tiny or
/// subnormal number (an absolute error under 2.4e−38); above ln(float.MaxValue) it is +∞; NaN gives NaN.</para>
/// </remarks>
internal static class FastExp
{
    private const float Low = -87.5f, High = 88.72283f, Cap = 87f, ScaleLow = -86.5f, Log2E = 1.44269504088896341f;
    private const float Magic = 12582912f;   // 1.5·2^23
    private const int MagicBits = 0x4B400000;
    private const float Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    private const float P0 = 1.9875691500E-4f, P1 = 1.3981999507E-3f, P2 = 8.3334519073E-3f,
        P3 = 4.1665795894E-2f, P4 = 1.6666665459E-1f, P5 = 5.0000001201E-1f;

    /// <summary>e^x per lane (see the class remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x)
    {
        Vector128<float> result = Core(x, High);
        return Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128.Create(High)), Vector128.Create(float.PositiveInfinity), result);
    }

    /// <summary>e^min(x, 87) per lane: never above 6.1e37, so <c>1 + e</c> and its reciprocal stay normal
    /// numbers (for the sigmoid and tanh of the fused kernels); NaN gives NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ExpCapped(Vector128<float> x) => Core(x, Cap);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Core(Vector128<float> x, float high)
    {
        // Clamp so that n stays in [−126, 128]; NaN is restored at the end.
        Vector128<float> xc = Vector128.MinNative(Vector128.MaxNative(x, Vector128.Create(Low)), Vector128.Create(high));
        // t = x·log2(e) + 1.5·2^23 rounds to an integer n held in t's low mantissa bits; n = t − 1.5·2^23 exactly.
        Vector128<float> t = Vector128.FusedMultiplyAdd(xc, Vector128.Create(Log2E), Vector128.Create(Magic));
        Vector128<float> n = t - Vector128.Create(Magic);
        Vector128<float> r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-Ln2Hi), xc);
        r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-Ln2Lo), r);
        Vector128<float> p = Vector128.Create(P0);
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(P1));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(P2));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(P3));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(P4));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(P5));
        p = Vector128.FusedMultiplyAdd(p, r * r, r) + Vector128<float>.One;
        // 2^(n−1) has the biased exponent n + 126 in [0, 254]: 0 (n = −126, x below about −87.0) gives zero, the flush.
        Vector128<float> half = Vector128.ShiftLeft(t.AsInt32() + Vector128.Create(126 - MagicBits), 23).AsSingle();
        Vector128<float> result = p * half * Vector128.Create(2f);
        return Vector128.ConditionalSelect(Vector128.Equals(x, x), result, x);
    }

    /// <summary>e^x per lane (see the class remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        Vector256<float> result = Core(x, High);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(High)), Vector256.Create(float.PositiveInfinity), result);
    }

    /// <summary>e^min(x, 87) per lane: never above 6.1e37, so <c>1 + e</c> and its reciprocal stay normal
    /// numbers (for the sigmoid and tanh of the fused kernels); NaN gives NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ExpCapped(Vector256<float> x) => Core(x, Cap);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Core(Vector256<float> x, float high)
    {
        // Clamp so that n stays in [−126, 128]; NaN is restored at the end.
        Vector256<float> xc = Vector256.MinNative(Vector256.MaxNative(x, Vector256.Create(Low)), Vector256.Create(high));
        // t = x·log2(e) + 1.5·2^23 rounds to an integer n held in t's low mantissa bits; n = t − 1.5·2^23 exactly.
        Vector256<float> t = Vector256.FusedMultiplyAdd(xc, Vector256.Create(Log2E), Vector256.Create(Magic));
        Vector256<float> n = t - Vector256.Create(Magic);
        Vector256<float> r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Hi), xc);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Lo), r);
        Vector256<float> p = Vector256.Create(P0);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P5));
        p = Vector256.FusedMultiplyAdd(p, r * r, r) + Vector256<float>.One;
        // 2^(n−1) has the biased exponent n + 126 in [0, 254]: 0 (n = −126, x below about −87.0) gives zero, the flush.
        Vector256<float> half = Vector256.ShiftLeft(t.AsInt32() + Vector256.Create(126 - MagicBits), 23).AsSingle();
        Vector256<float> result = p * half * Vector256.Create(2f);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
    }

    /// <summary>e^x per lane (see the class remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        Vector512<float> result = Core(x, High);
        return Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(High)), Vector512.Create(float.PositiveInfinity), result);
    }

    /// <summary>e^min(x, 87) per lane: never above 6.1e37, so <c>1 + e</c> and its reciprocal stay normal
    /// numbers (for the sigmoid and tanh of the fused kernels); NaN gives NaN.</summary>
    /// <remarks>With AVX-512 the result is built by <c>vscalefps</c> (<c>p·2ⁿ</c> from a float n) instead of
    /// integer exponent arithmetic and a NaN select: 14 instructions instead of 20, with the same polynomial and so
    /// the same values, except that inputs below −86.5 give e^−86.5 ≈ 2.6e−38 (still normal) instead of 0, which
    /// no caller can tell apart after adding 1.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ExpCapped(Vector512<float> x) => Avx512F.IsSupported ? ScaleCore(x, 1) : Core(x, Cap);

    /// <summary>e^(k·x) per lane, capped like <see cref="ExpCapped(Vector512{float})"/>, for <c>k</c> = −1 or −2 (a
    /// constant): <c>e^−x</c> for the sigmoid and <c>e^−2x</c> for tanh without an instruction to form <c>k·x</c>.
    /// The result is bitwise <c>ExpCapped(k·x)</c>.</summary>
    /// <remarks>k is a power of two, so multiplying by it commutes with rounding: the reduction runs on x with
    /// ln2/k, the polynomial on r/k with its coefficients times powers of k, and every intermediate is the
    /// unscaled one times an exact power of two.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ExpCappedScaled(Vector512<float> x, float k) =>
        Avx512F.IsSupported ? ScaleCore(x, k) : Core(x * Vector512.Create(k), Cap);

    /// <summary>e^(k·r) for k·r = k·x − n·ln2 (|k·r| ≤ ln2/2 give or take rounding), with ln2 in two parts; k is a
    /// power of two (1, −1 or −2; see <see cref="ExpCappedScaled"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpOfReduced(Vector512<float> x, Vector512<float> n, float k)
    {
        // With k = 1 this is Cephes' e^r = 1 + r + r²·P(r). For other k, r here is the unscaled r divided by k, and
        // the Horner coefficients carry k⁶, k⁵, …, k¹, so the last Horner value is k·P and the sum below is
        // (r + r²·P)/k, which the final fma scales back by k.
        Vector512<float> r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi / k), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo / k), r);
        float k2 = k * k, k3 = k2 * k, k4 = k2 * k2;
        Vector512<float> p = Vector512.Create(P0 * k4 * k2);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P1 * k4 * k));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P2 * k4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P3 * k3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P4 * k2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P5 * k));
        p = Vector512.FusedMultiplyAdd(p, r * r, r);
        return k == 1 ? p + Vector512<float>.One : Vector512.FusedMultiplyAdd(p, Vector512.Create(k), Vector512<float>.One);
    }

    /// <summary>e^(k·x) capped, built by <c>vscalefps</c>; k is 1, −1 or −2 (see <see cref="ExpCappedScaled"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ScaleCore(Vector512<float> x, float k)
    {
        // Clamp k·x to [−86.5, 87], in x's units (a negative k swaps the ends). vminps/vmaxps return their second
        // operand when either is NaN, so with x second a NaN passes through both (and then through r, p and the
        // scaling): no select is needed to restore it.
        Vector512<float> xc = k > 0
            ? Avx512F.Max(Vector512.Create(ScaleLow / k), Avx512F.Min(Vector512.Create(Cap / k), x))
            : Avx512F.Min(Vector512.Create(ScaleLow / k), Avx512F.Max(Vector512.Create(Cap / k), x));
        // n = round(k·x·log2 e) in [−125, 126], so 2ⁿ·e^r (e^r ≥ 0.7) is a normal number.
        Vector512<float> n = Avx512F.RoundScale(xc * Vector512.Create(Log2E * k), 0x08);
        Vector512<float> p = ExpOfReduced(xc, n, k);
        return Avx512F.Scale(p, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Core(Vector512<float> x, float high)
    {
        // Clamp so that n stays in [−126, 128]; NaN is restored at the end.
        Vector512<float> xc = Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(Low)), Vector512.Create(high));
        // t = x·log2(e) + 1.5·2^23 rounds to an integer n held in t's low mantissa bits; n = t − 1.5·2^23 exactly.
        Vector512<float> t = Vector512.FusedMultiplyAdd(xc, Vector512.Create(Log2E), Vector512.Create(Magic));
        Vector512<float> n = t - Vector512.Create(Magic);
        Vector512<float> p = ExpOfReduced(xc, n, 1);
        // 2^(n−1) has the biased exponent n + 126 in [0, 254]: 0 (n = −126, x below about −87.0) gives zero, the flush.
        Vector512<float> half = Vector512.ShiftLeft(t.AsInt32() + Vector512.Create(126 - MagicBits), 23).AsSingle();
        Vector512<float> result = p * half * Vector512.Create(2f);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);
    }
}
