using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nn.Simd.Tensors.Kernels.Common;

/// <summary>
/// A vectorised <c>e^x</c> for float, used by the fused gate kernels and the softmax loops; the runtime's
/// <c>Vector512.Exp(Vector512&lt;float&gt;)</c> measured about 3× slower here.
/// </summary>
/// <remarks>
/// <para>Method (Cephes' <c>expf</c>): <c>x = n·ln2 + r</c> with <c>n = ⌊x·log2(e) + ½⌋</c>, so <c>|r| ≤ ln2/2</c>;
/// <c>r</c> is formed with ln2 split in two parts (the first exact in few bits, so <c>n·Ln2Hi</c> is exact), <c>e^r</c>
/// is a degree-7 polynomial, and <c>2^n</c> is built in the exponent bits.</para>
/// <para>Range: results are within 2 ulp of the correctly rounded value for <c>x</c> in [−86.98, 88.72]. Below
/// about −86.99 (where e^x &lt; 2.4e−38, near the bottom of the normal range) the result is 0 instead of a tiny or
/// subnormal number (an absolute error under 2.4e−38); above ln(float.MaxValue) it is +∞; NaN gives NaN.</para>
/// </remarks>
internal static class FastExp
{
    private const float Low = -87.5f, High = 88.72283f, Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    private const float P0 = 1.9875691500E-4f, P1 = 1.3981999507E-3f, P2 = 8.3334519073E-3f,
        P3 = 4.1665795894E-2f, P4 = 1.6666665459E-1f, P5 = 5.0000001201E-1f;

    /// <summary>e^x per lane (see the class remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x)
    {
        // Clamp so that n stays in [−126, 128]; NaN is restored at the end.
        Vector128<float> xc = Vector128.MinNative(Vector128.MaxNative(x, Vector128.Create(Low)), Vector128.Create(High));
        Vector128<float> n = Vector128.Floor(Vector128.FusedMultiplyAdd(xc, Vector128.Create(Log2E), Vector128.Create(0.5f)));
        Vector128<float> r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-Ln2Hi), xc);
        r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-Ln2Lo), r);
        Vector128<float> p = Vector128.Create(P0);
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(P1));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(P2));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(P3));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(P4));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(P5));
        p = Vector128.FusedMultiplyAdd(p, r * r, r) + Vector128<float>.One;
        // 2^(n−1) has a biased exponent n + 126 in [0, 254]: 0 (n = −126, x < −86.99) gives zero, the flush.
        Vector128<float> half = Vector128.ShiftLeft(Vector128.ConvertToInt32(n) + Vector128.Create(126), 23).AsSingle();
        Vector128<float> result = p * half * Vector128.Create(2f);
        result = Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128.Create(High)), Vector128.Create(float.PositiveInfinity), result);
        return Vector128.ConditionalSelect(Vector128.Equals(x, x), result, x);
    }

    /// <summary>e^x per lane (see the class remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        // Clamp so that n stays in [−126, 128]; NaN is restored at the end.
        Vector256<float> xc = Vector256.MinNative(Vector256.MaxNative(x, Vector256.Create(Low)), Vector256.Create(High));
        Vector256<float> n = Vector256.Floor(Vector256.FusedMultiplyAdd(xc, Vector256.Create(Log2E), Vector256.Create(0.5f)));
        Vector256<float> r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Hi), xc);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Lo), r);
        Vector256<float> p = Vector256.Create(P0);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P5));
        p = Vector256.FusedMultiplyAdd(p, r * r, r) + Vector256<float>.One;
        // 2^(n−1) has a biased exponent n + 126 in [0, 254]: 0 (n = −126, x < −86.99) gives zero, the flush.
        Vector256<float> half = Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(126), 23).AsSingle();
        Vector256<float> result = p * half * Vector256.Create(2f);
        result = Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(High)), Vector256.Create(float.PositiveInfinity), result);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
    }

    /// <summary>e^x per lane (see the class remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        // Clamp so that n stays in [−126, 128]; NaN is restored at the end.
        Vector512<float> xc = Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(Low)), Vector512.Create(High));
        Vector512<float> n = Vector512.Floor(Vector512.FusedMultiplyAdd(xc, Vector512.Create(Log2E), Vector512.Create(0.5f)));
        Vector512<float> r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), xc);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), r);
        Vector512<float> p = Vector512.Create(P0);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P5));
        p = Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
        // 2^(n−1) has a biased exponent n + 126 in [0, 254]: 0 (n = −126, x < −86.99) gives zero, the flush.
        Vector512<float> half = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(126), 23).AsSingle();
        Vector512<float> result = p * half * Vector512.Create(2f);
        result = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(High)), Vector512.Create(float.PositiveInfinity), result);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);
    }
}
