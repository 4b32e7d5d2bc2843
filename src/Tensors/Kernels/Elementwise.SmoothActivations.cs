using System.Numerics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

public static partial class Elementwise
{
    // The exponential family (ELU, SELU, SiLU, softplus, mish) and softsign. In float each is one vectorised pass
    // built on FastExp; in double the exponential ones run a scalar loop over the operator's scalar form, which
    // computes in double with Math.Exp and ScalarMath's expm1/log1p (the vector forms are float approximations).
    // Backward passes read x: every derivative here loses accuracy when rebuilt from y (y + α for ELU cancels as
    // y → −α, 1 − e^−y for softplus cancels as y → 0).

    /// <summary>SELU's α, Keras' constant (PyTorch uses 1.6732632423543772…; the two agree to 1.4e−9 relative).</summary>
    public const double SeluAlpha = 1.67326324;

    /// <summary>SELU's scale, Keras' constant (PyTorch uses 1.0507009873554804…; they agree to 1.3e−9 relative).</summary>
    public const double SeluScale = 1.05070098;

    /// <summary><c>destination[i] = x &gt; 0 ? x : α·(e^x − 1)</c>, with e^x − 1 computed without cancellation near 0.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void Elu<T>(ReadOnlySpan<T> x, T alpha, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        MapFloatVectorised<T, EluOperator<T>>(x, x, alpha, destination);
    }

    /// <summary><c>dx[i] = dy[i] · (x &gt; 0 ? 1 : α·e^x)</c>, the ELU derivative (α at x = 0, as PyTorch).</summary>
    /// <exception cref="ArgumentException"><paramref name="dy"/> differs in length from <paramref name="x"/>, or
    /// <paramref name="dx"/> is too short or partially overlaps an input.</exception>
    public static void EluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, T alpha, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBinary(x, dy, dx, nameof(x), nameof(dy), nameof(dx));
        MapFloatVectorised<T, EluBackwardOperator<T>>(x, dy, alpha, dx);
    }

    /// <summary><c>destination[i] = scale · (x &gt; 0 ? x : α·(e^x − 1))</c> with <see cref="SeluAlpha"/> and <see cref="SeluScale"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void Selu<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        MapFloatVectorised<T, SeluOperator<T>>(x, x, T.CreateTruncating(SeluScale), destination);
    }

    /// <summary><c>dx[i] = dy[i] · scale · (x &gt; 0 ? 1 : α·e^x)</c>, the SELU derivative.</summary>
    /// <exception cref="ArgumentException"><paramref name="dy"/> differs in length from <paramref name="x"/>, or
    /// <paramref name="dx"/> is too short or partially overlaps an input.</exception>
    public static void SeluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBinary(x, dy, dx, nameof(x), nameof(dy), nameof(dx));
        MapFloatVectorised<T, SeluBackwardOperator<T>>(x, dy, T.CreateTruncating(SeluScale), dx);
    }

    /// <summary><c>destination[i] = x / (1 + e^−x)</c>, i.e. <c>x · sigmoid(x)</c> (SiLU, swish); −∞ gives NaN, as in PyTorch.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void Silu<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        MapFloatVectorised<T, SiluOperator<T>>(x, x, T.One, destination);
    }

    /// <summary><c>dx[i] = dy[i] · s · (1 + x·(1 − s))</c> with <c>s = sigmoid(x)</c>, the SiLU derivative.</summary>
    /// <exception cref="ArgumentException"><paramref name="dy"/> differs in length from <paramref name="x"/>, or
    /// <paramref name="dx"/> is too short or partially overlaps an input.</exception>
    public static void SiluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBinary(x, dy, dx, nameof(x), nameof(dy), nameof(dx));
        MapFloatVectorised<T, SiluBackwardOperator<T>>(x, dy, T.One, dx);
    }

    /// <summary><c>destination[i] = ln(1 + e^x)</c>, computed as <c>log1p(e^−|x|) + max(x, 0)</c>, which neither
    /// overflows nor loses the tiny values of very negative x.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void Softplus<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        MapFloatVectorised<T, SoftplusOperator<T>>(x, x, T.One, destination);
    }

    /// <summary><c>dx[i] = dy[i] · sigmoid(x)</c>, the softplus derivative.</summary>
    /// <exception cref="ArgumentException"><paramref name="dy"/> differs in length from <paramref name="x"/>, or
    /// <paramref name="dx"/> is too short or partially overlaps an input.</exception>
    public static void SoftplusBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBinary(x, dy, dx, nameof(x), nameof(dy), nameof(dx));
        MapFloatVectorised<T, SoftplusBackwardOperator<T>>(x, dy, T.One, dx);
    }

    /// <summary><c>destination[i] = x · tanh(ln(1 + e^x))</c> (mish), computed as <c>x · n/(n + 2)</c> with
    /// <c>n = e^x·(e^x + 2)</c> and x capped at 40 inside the exponential (tanh(softplus(x)) is 1 in double long
    /// before); −∞ gives NaN, as in PyTorch.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    /// <remarks>tanh(ln u) = (u² − 1)/(u² + 1) with u = 1 + e^x, and u² − 1 = e^x(e^x + 2) has no cancellation, so
    /// one exponential and one division replace an exp, a log and a tanh.</remarks>
    public static void Mish<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        MapFloatVectorised<T, MishOperator<T>>(x, x, T.One, destination);
    }

    /// <summary><c>dx[i] = dy[i] · (t + x · sigmoid(x) · (1 − t²))</c> with <c>t = tanh(softplus(x))</c>, the mish
    /// derivative, computed as <c>n·q + 4·x·e·(1 + e)·q²</c> with <c>e = e^x</c>, <c>n = e(e + 2)</c>,
    /// <c>q = 1/(n + 2)</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="dy"/> differs in length from <paramref name="x"/>, or
    /// <paramref name="dx"/> is too short or partially overlaps an input.</exception>
    public static void MishBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBinary(x, dy, dx, nameof(x), nameof(dy), nameof(dx));
        MapFloatVectorised<T, MishBackwardOperator<T>>(x, dy, T.One, dx);
    }

    /// <summary><c>destination[i] = x / (1 + |x|)</c>; ±∞ gives NaN, as in PyTorch and Keras.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void Softsign<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        ElementLoop.Map<T, SoftsignOperator<T>>(x, x, T.One, destination);
    }

    /// <summary><c>dx[i] = dy[i] / (1 + |x|)²</c>, the softsign derivative.</summary>
    /// <exception cref="ArgumentException"><paramref name="dy"/> differs in length from <paramref name="x"/>, or
    /// <paramref name="dx"/> is too short or partially overlaps an input.</exception>
    public static void SoftsignBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBinary(x, dy, dx, nameof(x), nameof(dy), nameof(dx));
        ElementLoop.Map<T, SoftsignBackwardOperator<T>>(x, dy, T.One, dx);
    }

    /// <summary>The vector loop for float; the operator's scalar (double-accurate) form for every other type.</summary>
    private static void MapFloatVectorised<T, TOp>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T s, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IElementOperator<T>
    {
        if (typeof(T) == typeof(float)) ElementLoop.Map<T, TOp>(x, y, s, destination);
        else ElementLoop.MapScalar<T, TOp>(x, y, s, destination);
    }

    private static double D<T>(T v) where T : unmanaged, IFloatingPointIeee754<T> => double.CreateTruncating(v);

    private static T R<T>(double v) where T : unmanaged, IFloatingPointIeee754<T> => T.CreateTruncating(v);

    /// <summary><c>x &gt; 0 ? x : α·(e^x − 1)</c></summary>
    internal readonly struct EluOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T _, T alpha) => x > T.Zero ? x : R<T>(D(alpha) * ScalarMath.ExpM1(D(x)));
        public static TV Invoke<TS, TV>(TV x, TV _, TV alpha) where TS : ISimd<TV, T> where TV : struct
            => TS.WhereLess(TS.Zero, x, x, TS.Multiply(alpha, SimdMath.ExpM1<TS, TV, T>(x)));
    }

    /// <summary><c>x &gt; 0 ? dy : dy·α·e^x</c></summary>
    internal readonly struct EluBackwardOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T dy, T alpha) => x > T.Zero ? dy : R<T>(D(dy) * D(alpha) * Math.Exp(D(x)));
        public static TV Invoke<TS, TV>(TV x, TV dy, TV alpha) where TS : ISimd<TV, T> where TV : struct
            => TS.WhereLess(TS.Zero, x, dy, TS.Multiply(dy, TS.Multiply(alpha, TS.Exp(x))));
    }

    /// <summary><c>x &gt; 0 ? scale·x : scale·α·(e^x − 1)</c>, SELU's α folded in, the scale passed as <c>s</c></summary>
    internal readonly struct SeluOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T _, T scale) => x > T.Zero ? scale * x : R<T>(D(scale) * SeluAlpha * ScalarMath.ExpM1(D(x)));
        public static TV Invoke<TS, TV>(TV x, TV _, TV scale) where TS : ISimd<TV, T> where TV : struct
            => TS.Multiply(scale, TS.WhereLess(TS.Zero, x, x, TS.Multiply(TS.Broadcast(R<T>(SeluAlpha)), SimdMath.ExpM1<TS, TV, T>(x))));
    }

    /// <summary><c>x &gt; 0 ? dy·scale : dy·scale·α·e^x</c></summary>
    internal readonly struct SeluBackwardOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T dy, T scale) => x > T.Zero ? dy * scale : R<T>(D(dy) * D(scale) * SeluAlpha * Math.Exp(D(x)));
        public static TV Invoke<TS, TV>(TV x, TV dy, TV scale) where TS : ISimd<TV, T> where TV : struct
            => TS.Multiply(TS.Multiply(dy, scale), TS.WhereLess(TS.Zero, x, TS.One, TS.Multiply(TS.Broadcast(R<T>(SeluAlpha)), TS.Exp(x))));
    }

    /// <summary><c>x / (1 + e^−x)</c></summary>
    internal readonly struct SiluOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T _, T one) => R<T>(D(x) / (1 + Math.Exp(-D(x))));
        // The uncapped exp: below −88.7 it is +∞ and x/∞ = −0 (the exact value is below 2e−37 there), whereas the
        // capped sigmoid would give x·1.6e−38, wrong without bound as x → −∞.
        public static TV Invoke<TS, TV>(TV x, TV _, TV one) where TS : ISimd<TV, T> where TV : struct
            => TS.Divide(x, TS.Add(one, TS.Exp(TS.Subtract(TS.Zero, x))));
    }

    /// <summary><c>dy · s · (1 + x·(1 − s))</c>, <c>s = 1/(1 + e^−x)</c>, with <c>1 − s = e^−x·s</c> for x &gt; 0</summary>
    internal readonly struct SiluBackwardOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T dy, T one)
        {
            double v = D(x), e = Math.Exp(-v), s = 1 / (1 + e);
            return R<T>(D(dy) * s * (1 + v * (v > 0 ? e * s : 1 - s)));
        }
        public static TV Invoke<TS, TV>(TV x, TV dy, TV one) where TS : ISimd<TV, T> where TV : struct
        {
            // 1 − s cancels for large x, where it equals e^−x·s instead (which is ∞·0 for very negative x).
            TV e = TS.Exp(TS.Subtract(TS.Zero, x));
            TV s = TS.Divide(one, TS.Add(one, e));
            TV oneMinusS = TS.WhereLess(TS.Zero, x, TS.Multiply(e, s), TS.Subtract(one, s));
            return TS.Multiply(TS.Multiply(dy, s), TS.FusedMultiplyAdd(x, oneMinusS, one));
        }
    }

    /// <summary><c>log1p(e^−|x|) + max(x, 0)</c></summary>
    internal readonly struct SoftplusOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T _, T one)
        {
            double v = D(x);
            return R<T>(ScalarMath.Log1P(Math.Exp(-Math.Abs(v))) + Math.Max(v, 0));
        }
        public static TV Invoke<TS, TV>(TV x, TV _, TV one) where TS : ISimd<TV, T> where TV : struct
        {
            // log1p(e) for e in [0, 1] by Kahan's correction: u = 1 + e, log1p(e) = ln(u)·e/(u − 1), where u − 1 is
            // exact; where u rounds to 1 (u − 1 = 0, else at least 2^−23) log1p(e) = e.
            TV e = TS.Exp(TS.Subtract(TS.Zero, TS.Abs(x)));
            TV u = TS.Add(one, e);
            TV um1 = TS.Subtract(u, one);
            TV log1p = TS.WhereLess(um1, TS.Broadcast(T.CreateTruncating(1e-30)), e, TS.Divide(TS.Multiply(TS.Log(u), e), um1));
            return TS.Add(log1p, TS.MaxOrSecond(TS.Zero, x));
        }
    }

    /// <summary><c>dy · sigmoid(x)</c></summary>
    internal readonly struct SoftplusBackwardOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T dy, T one) => R<T>(D(dy) / (1 + Math.Exp(-D(x))));
        public static TV Invoke<TS, TV>(TV x, TV dy, TV one) where TS : ISimd<TV, T> where TV : struct
            => TS.Multiply(dy, SimdMath.SigmoidAccurate<TS, TV, T>(x));
    }

    /// <summary><c>x · n/(n + 2)</c>, <c>n = e(e + 2)</c>, <c>e = e^min(x, 40)</c></summary>
    internal readonly struct MishOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T _, T one)
        {
            double v = D(x), e = Math.Exp(Math.Min(v, 40)), n = e * (e + 2);
            return R<T>(v * (n / (n + 2)));
        }
        public static TV Invoke<TS, TV>(TV x, TV _, TV one) where TS : ISimd<TV, T> where TV : struct
        {
            TV cap = TS.Broadcast(T.CreateTruncating(40));
            TV e = TS.Exp(TS.WhereLess(cap, x, cap, x)); // min(x, 40), NaN kept
            TV n = TS.Multiply(e, TS.Add(e, TS.Broadcast(T.CreateTruncating(2))));
            return TS.Multiply(x, TS.Divide(n, TS.Add(n, TS.Broadcast(T.CreateTruncating(2)))));
        }
    }

    /// <summary><c>dy · (n·q + 4·x·e(1 + e)·q²)</c>, <c>q = 1/(n + 2)</c>, x capped at 40</summary>
    internal readonly struct MishBackwardOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T dy, T one)
        {
            double v = Math.Min(D(x), 40), e = Math.Exp(v), n = e * (e + 2), q = 1 / (n + 2);
            return R<T>(D(dy) * (n * q + v * (e * (1 + e) * q) * (4 * q)));
        }
        public static TV Invoke<TS, TV>(TV x, TV dy, TV one) where TS : ISimd<TV, T> where TV : struct
        {
            // e(1 + e)·q stays near 1 and is multiplied by q last, so nothing overflows at the cap (n ≈ 5.5e34).
            TV cap = TS.Broadcast(T.CreateTruncating(40)), two = TS.Broadcast(T.CreateTruncating(2));
            // x is capped in the second term too: beyond 40 it is 4x·e^−2x, below 1e−32, and with e capped but x not it
            // would grow with x.
            TV xc = TS.WhereLess(cap, x, cap, x);
            TV e = TS.Exp(xc);
            TV n = TS.Multiply(e, TS.Add(e, two));
            TV q = TS.Divide(one, TS.Add(n, two));
            TV s = TS.Multiply(TS.Multiply(e, TS.Add(one, e)), q);
            // x·s before the 4: 4x overflows for x near −MaxValue, x·s (s ≤ 1) does not.
            TV d = TS.FusedMultiplyAdd(TS.Multiply(xc, s), TS.Multiply(TS.Broadcast(T.CreateTruncating(4)), q), TS.Multiply(n, q));
            return TS.Multiply(dy, d);
        }
    }

    /// <summary><c>x / (1 + |x|)</c></summary>
    internal readonly struct SoftsignOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T _, T one) => x / (one + T.Abs(x));
        public static TV Invoke<TS, TV>(TV x, TV _, TV one) where TS : ISimd<TV, T> where TV : struct
            => TS.Divide(x, TS.Add(one, TS.Abs(x)));
    }

    /// <summary><c>dy / (1 + |x|)²</c>, as <c>dy·q·q</c> with <c>q = 1/(1 + |x|)</c> so the square cannot overflow</summary>
    internal readonly struct SoftsignBackwardOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T dy, T one)
        {
            T q = one / (one + T.Abs(x));
            return dy * q * q;
        }
        public static TV Invoke<TS, TV>(TV x, TV dy, TV one) where TS : ISimd<TV, T> where TV : struct
        {
            TV q = TS.Divide(one, TS.Add(one, TS.Abs(x)));
            return TS.Multiply(TS.Multiply(dy, q), q);
        }
    }
}
