using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nn.Simd.Tensors.Kernels.Common;

/// <summary>
/// Vectorised <c>e^x</c> for float: <see cref="Exp(Vector512{float})"/> for the softmax loops, and the cheaper
/// capped form <see cref="ExpCapped(Vector512{float})"/> / <see cref="ExpCappedScaled"/> for the sigmoid and tanh
/// of the fused gate kernels; the runtime's <c>Vector512.Exp(Vector512&lt;float&gt;)</c> measured about 3× slower here.
/// </summary>
/// <remarks>
/// <para><see cref="Exp(Vector512{float})"/> (Cephes' <c>expf</c>): <c>x = n·ln2 + r</c> with <c>n</c> = x·log2(e) rounded to nearest (by adding
/// 1.5·2²³, which also leaves n in the low bits for building 2ⁿ), so <c>|r| ≤ ln2/2</c>;
/// <c>r</c> is formed with ln2 split in two parts (the first exact in few bits, so <c>n·Ln2Hi</c> is exact), <c>e^r</c>
/// is a degree-7 polynomial, and <c>2^n</c> is built in the exponent bits.</para>
/// <para>Range: results are within 2 ulp of the correctly rounded value for <c>x</c> in [−86.98, 88.72]. Below
/// about −86.99 (where e^x &lt; 2.4e−38, near the bottom of the normal range) the result is 0 instead of a tiny or
/// subnormal number (an absolute error under 2.4e−38); above ln(float.MaxValue) it is +∞; NaN gives NaN.</para>
/// <para>The capped form works in base 2: <c>x</c> is clamped to <c>|x| ≤ 87</c>, <c>n = round(x·log2 e)</c>, and
/// <c>f = x·log2 e − n</c> (|f| ≤ 1/2) is formed with log2 e in two parts by two fused multiply-adds, so no
/// product is rounded before the subtraction. <c>2^f</c> is a degree-6 polynomial, minimax for relative error on
/// [−1/2, 1/2] (1.9e−9; 7.9e−8 evaluated in float), and the result is <c>2^f·2ⁿ</c>, by <c>vscalefps</c> with
/// AVX-512 and by a multiply by 2ⁿ built in the exponent bits without (exact either way, so every width gives the
/// same bits). 13 vector instructions with AVX-512 (the Cephes form of <see cref="Exp(Vector512{float})"/>: 20); within about
/// 1 ulp over the whole range.</para>
/// </remarks>
internal static class FastExp
{
    private const float Low = -87.5f, High = 88.72283f, Cap = 87f, Log2E = 1.44269504088896341f;
    private const float Magic = 12582912f;   // 1.5·2^23
    private const int MagicBits = 0x4B400000;
    private const float Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    // The capped form's log2 e in two parts (Log2EHi is log2 e rounded to float) and its 2^f polynomial.
    private const float Log2EHi = 1.44269502162933349609375f, Log2ELo = (float)(1.4426950408889634074 - 1.44269502162933349609375);
    private const float E1 = 0.6931472f, E2 = 0.24022646f, E3 = 0.055503286f, E4 = 0.009618489f, E5 = 0.0013399931f, E6 = 0.00015345812f;
    private const float P0 = 1.9875691500E-4f, P1 = 1.3981999507E-3f, P2 = 8.3334519073E-3f,
        P3 = 4.1665795894E-2f, P4 = 1.6666665459E-1f, P5 = 5.0000001201E-1f;

    /// <summary><see cref="Pow2(Vector256{float})"/> on four lanes (computed as the lower half of an eight-lane call, so
    /// the bits are those of every other width).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Pow2(Vector128<float> t) => Pow2(Vector256.Create(t, t)).GetLower();

    /// <summary>e^x per lane (see the class remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x)
    {
        Vector128<float> result = Core(x);
        return Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128.Create(High)), Vector128.Create(float.PositiveInfinity), result);
    }

    /// <summary><see cref="ExpCapped(Vector256{float})"/> on four lanes (the lower half of an eight-lane call).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ExpCapped(Vector128<float> x) => ExpCapped(Vector256.Create(x, x)).GetLower();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Core(Vector128<float> x)
    {
        // Clamp so that n stays in [−126, 128]; NaN is restored at the end.
        Vector128<float> xc = Vector128.MinNative(Vector128.MaxNative(x, Vector128.Create(Low)), Vector128.Create(High));
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

    /// <summary><c>2^t</c> per lane for <c>t</c> in [−150, 126] (the callers clamp), for the gate activations: within about
    /// 1.5 ulp for a t exact in float; t below −126 gives a tiny or zero result (0 below −149); NaN gives NaN.</summary>
    /// <remarks><c>n = round(t)</c>, <c>f = t − n</c> exactly (|f| ≤ 1/2), the degree-6 polynomial for 2^f, and the
    /// scaling by 2ⁿ. Cheaper than <see cref="ExpCapped(Vector256{float})"/> by the clamp and one fused multiply-add,
    /// because the caller's <c>x·log2 e</c> has already been rounded: fine for the gates, whose error is absolute (a
    /// rounding of x·log2 e moves σ and tanh by at most about 2e−8), but not for the element-wise kernels' relative
    /// accuracy at large |x|.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Pow2(Vector256<float> t)
    {
        Vector256<float> n = Vector256.Round(t);
        Vector256<float> p = Pow2Fraction(t - n);
        if (Avx512F.VL.IsSupported) return Avx512F.VL.Scale(p, n);
        // 2ⁿ in the exponent bits, n clamped to [−127, 126]: the biased exponent n + 127 in [0, 253], 0 giving 0 (a
        // flush where vscalefps gives a subnormal: after 1 + e, as every caller uses it, the same).
        n = Vector256.MaxNative(Vector256.Create(-127f), n);
        return p * Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Pow2Fraction(Vector256<float> f)
    {
        Vector256<float> p = Vector256.FusedMultiplyAdd(Vector256.Create(E6), f, Vector256.Create(E5));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(E4));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(E3));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(E2));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(E1));
        return Vector256.FusedMultiplyAdd(p, f, Vector256<float>.One);
    }

    /// <summary>e^x per lane (see the class remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        Vector256<float> result = Core(x);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(High)), Vector256.Create(float.PositiveInfinity), result);
    }

    /// <summary>e^clamp(x, −87, 87) per lane (see the class remarks): a normal number in [1.6e−38, 6.1e37], so
    /// <c>1 + e</c> and its reciprocal stay normal (for the sigmoid and tanh of the fused kernels); NaN gives NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ExpCapped(Vector256<float> x)
    {
        // maxps/minps return their second operand when either is NaN: with x second, a NaN passes through both.
        Vector256<float> xc = Vector256.MinNative(Vector256.Create(Cap), Vector256.MaxNative(Vector256.Create(-Cap), x));
        Vector256<float> n = Vector256.Round(xc * Vector256.Create(Log2EHi));
        Vector256<float> f = Vector256.FusedMultiplyAdd(xc, Vector256.Create(Log2EHi), -n);
        f = Vector256.FusedMultiplyAdd(xc, Vector256.Create(Log2ELo), f);
        Vector256<float> p = Pow2Fraction(f);
        // n is an integer in [−126, 126]: 2ⁿ has the biased exponent n + 127 in [1, 253].
        return p * Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Core(Vector256<float> x)
    {
        // Clamp so that n stays in [−126, 128]; NaN is restored at the end.
        Vector256<float> xc = Vector256.MinNative(Vector256.MaxNative(x, Vector256.Create(Low)), Vector256.Create(High));
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

    /// <summary><c>2^t</c> per lane for <c>t</c> in [−150, 126] (the callers clamp), for the gate activations: within about
    /// 1.5 ulp for a t exact in float; t below −126 gives a tiny or zero result (0 below −149); NaN gives NaN.</summary>
    /// <remarks><c>n = round(t)</c>, <c>f = t − n</c> exactly (|f| ≤ 1/2), the degree-6 polynomial for 2^f, and the
    /// scaling by 2ⁿ. Cheaper than <see cref="ExpCapped(Vector512{float})"/> by the clamp and one fused multiply-add,
    /// because the caller's <c>x·log2 e</c> has already been rounded: fine for the gates, whose error is absolute (a
    /// rounding of x·log2 e moves σ and tanh by at most about 2e−8), but not for the element-wise kernels' relative
    /// accuracy at large |x|.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Pow2(Vector512<float> t)
    {
        Vector512<float> n = Avx512F.RoundScale(t, 0x08);   // to nearest, as Vector512.Round
        Vector512<float> p = Pow2Fraction(t - n);
        return Avx512F.Scale(p, n);   // p·2ⁿ, rounded once (0 far below the normal range, never NaN for a number)
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pow2Fraction(Vector512<float> f)
    {
        Vector512<float> p = Vector512.FusedMultiplyAdd(Vector512.Create(E6), f, Vector512.Create(E5));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(E4));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(E3));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(E2));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(E1));
        return Vector512.FusedMultiplyAdd(p, f, Vector512<float>.One);
    }

    /// <summary>e^x per lane (see the class remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        Vector512<float> result = Core(x);
        return Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(High)), Vector512.Create(float.PositiveInfinity), result);
    }

    /// <summary>e^clamp(x, −87, 87) per lane (see the class remarks): a normal number in [1.6e−38, 6.1e37], so
    /// <c>1 + e</c> and its reciprocal stay normal (for the sigmoid and tanh of the fused kernels); NaN gives NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ExpCapped(Vector512<float> x) => ExpCappedScaled(x, 1);

    /// <summary>e^(k·x) per lane, capped like <see cref="ExpCapped(Vector512{float})"/>, for <c>k</c> = 1, −1 or −2
    /// (a constant): <c>e^−x</c> for the sigmoid and <c>e^−2x</c> for tanh without an instruction to form <c>k·x</c>.
    /// The result is bitwise <c>ExpCapped(k·x)</c> at every width.</summary>
    /// <remarks>k is a power of two, so multiplying by it commutes with rounding: the clamp bound and the two parts
    /// of log2 e are taken times k, and every product is the unscaled one exactly.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ExpCappedScaled(Vector512<float> x, float k)
    {
        float bound = Cap / MathF.Abs(k);
        // maxps/minps return their second operand when either is NaN: with x second, a NaN passes through both
        // (vrangeps would clamp in one instruction, but it turns a NaN into ±bound).
        Vector512<float> xc = Vector512.MinNative(Vector512.Create(bound), Vector512.MaxNative(Vector512.Create(-bound), x));
        Vector512<float> hi = Vector512.Create(k * Log2EHi);
        Vector512<float> n = Avx512F.RoundScale(xc * hi, 0x08);   // to nearest, as Vector512.Round
        Vector512<float> f = Avx512F.FusedMultiplySubtract(xc, hi, n);
        f = Vector512.FusedMultiplyAdd(xc, Vector512.Create(k * Log2ELo), f);
        Vector512<float> p = Pow2Fraction(f);
        return Avx512F.Scale(p, n);   // p·2ⁿ (n in [−126, 126], so exact)
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Core(Vector512<float> x)
    {
        // Clamp so that n stays in [−126, 128]; NaN is restored at the end.
        Vector512<float> xc = Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(Low)), Vector512.Create(High));
        // t = x·log2(e) + 1.5·2^23 rounds to an integer n held in t's low mantissa bits; n = t − 1.5·2^23 exactly.
        Vector512<float> t = Vector512.FusedMultiplyAdd(xc, Vector512.Create(Log2E), Vector512.Create(Magic));
        Vector512<float> n = t - Vector512.Create(Magic);
        Vector512<float> r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), xc);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), r);
        Vector512<float> p = Vector512.Create(P0);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P5));
        p = Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
        // 2^(n−1) has the biased exponent n + 126 in [0, 254]: 0 (n = −126, x below about −87.0) gives zero, the flush.
        Vector512<float> half = Vector512.ShiftLeft(t.AsInt32() + Vector512.Create(126 - MagicBits), 23).AsSingle();
        Vector512<float> result = p * half * Vector512.Create(2f);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);
    }
}
