using System.Numerics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

public static partial class Elementwise
{
    // Relu, and Sigmoid, Tanh and Exp in float, are this library's own loops because they measured faster than
    // TensorPrimitives here (ElementwiseBenchmarks): one vmaxps per vector for ReLU (TensorPrimitives.Max keeps
    // IEEE max semantics with extra compares), and FastExp's shorter exp. The double versions call
    // TensorPrimitives.

    /// <summary><c>destination[i] = max(x[i], 0)</c>; NaN stays NaN (−0 may stay −0).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void Relu<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        ElementLoop.Map<T, ReluOperator<T>>(x, x, T.Zero, destination);
    }

    /// <summary><c>destination[i] = 1 / (1 + e^(−x[i]))</c>: in float the fused kernels' sigmoid (within
    /// 2e-7 of the exact value; never a subnormal), in double TensorPrimitives.Sigmoid.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void Sigmoid<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        if (x.IsEmpty) return; // TensorPrimitives.Sigmoid rejects empty input; every other kernel here accepts it
        if (typeof(T) == typeof(float)) ElementLoop.Map<T, SigmoidOperator<T>>(x, x, T.One, destination);
        else TensorPrimitives.Sigmoid(x, destination);
    }

    /// <summary><c>destination[i] = tanh(x[i])</c>: in float a polynomial near 0 and the exp form elsewhere (within a
    /// few ulp), in double TensorPrimitives.Tanh.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void Tanh<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        if (typeof(T) == typeof(float)) ElementLoop.Map<T, TanhOperator<T>>(x, x, T.One, destination);
        else TensorPrimitives.Tanh(x, destination);
    }

    /// <summary><c>destination[i] = e^x[i]</c>: in float FastExp (within 2 ulp; results below about 2.4e−38 are
    /// flushed to zero rather than returned as subnormals), in double TensorPrimitives.Exp.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void Exp<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        if (typeof(T) == typeof(float)) ElementLoop.Map<T, ExpOperator<T>>(x, x, T.Zero, destination);
        else TensorPrimitives.Exp(x, destination);
    }

    /// <summary><c>dx[i] = y[i] &gt; 0 ? dy[i] : 0</c>, the ReLU derivative from its output (y &gt; 0 exactly when x &gt; 0).</summary>
    /// <exception cref="ArgumentException"><paramref name="dy"/> differs in length from <paramref name="y"/>, or
    /// <paramref name="dx"/> is too short or partially overlaps an input.</exception>
    public static void ReluBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBinary(y, dy, dx, nameof(y), nameof(dy), nameof(dx));
        ElementLoop.Map<T, ReluBackwardOperator<T>>(y, dy, T.Zero, dx);
    }

    /// <summary><c>dx[i] = dy[i] · y[i] · (1 − y[i])</c>, the sigmoid derivative from its output.</summary>
    /// <exception cref="ArgumentException"><paramref name="dy"/> differs in length from <paramref name="y"/>, or
    /// <paramref name="dx"/> is too short or partially overlaps an input.</exception>
    public static void SigmoidBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBinary(y, dy, dx, nameof(y), nameof(dy), nameof(dx));
        ElementLoop.Map<T, SigmoidBackwardOperator<T>>(y, dy, T.One, dx);
    }

    /// <summary><c>dx[i] = dy[i] · (1 − y[i]²)</c>, the tanh derivative from its output.</summary>
    /// <exception cref="ArgumentException"><paramref name="dy"/> differs in length from <paramref name="y"/>, or
    /// <paramref name="dx"/> is too short or partially overlaps an input.</exception>
    public static void TanhBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBinary(y, dy, dx, nameof(y), nameof(dy), nameof(dx));
        ElementLoop.Map<T, TanhBackwardOperator<T>>(y, dy, T.One, dx);
    }

    /// <summary><c>y &gt; 0 ? dy : 0</c></summary>
    internal readonly struct ReluBackwardOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T y, T dy, T _) => y > T.Zero ? dy : T.Zero;
        public static TV Invoke<TS, TV>(TV y, TV dy, TV _) where TS : ISimd<TV, T> where TV : struct => TS.WherePositive(y, dy);
    }

    /// <summary><c>dy · y · (one − y)</c>, with <c>one</c> passed as the scalar so it is broadcast once.</summary>
    /// <summary><c>x &gt; 0 ? x : 0</c>, NaN kept (<c>maxps(0, x)</c> returns x when x is NaN).</summary>
    internal readonly struct ReluOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T y, T zero) => SimdScalar<T>.MaxOrSecond(zero, x);
        public static TV Invoke<TS, TV>(TV x, TV y, TV zero) where TS : ISimd<TV, T> where TV : struct
            => TS.MaxOrSecond(zero, x);
    }

    /// <summary><c>1 / (1 + e^(−x))</c> (<see cref="SimdMath.SigmoidAccurate{TS, TV, T}"/>).</summary>
    internal readonly struct SigmoidOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T y, T one) => SimdMath.SigmoidAccurate<SimdScalar<T>, T, T>(x);
        public static TV Invoke<TS, TV>(TV x, TV y, TV one) where TS : ISimd<TV, T> where TV : struct
            => SimdMath.SigmoidAccurate<TS, TV, T>(x);
    }

    /// <summary><c>tanh(x)</c> (<see cref="SimdMath.TanhAccurate{TS, TV, T}"/>).</summary>
    internal readonly struct TanhOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T y, T one) => T.Tanh(x);
        public static TV Invoke<TS, TV>(TV x, TV y, TV one) where TS : ISimd<TV, T> where TV : struct
            => SimdMath.TanhAccurate<TS, TV, T>(x);
    }

    /// <summary><c>e^x</c> (FastExp in float).</summary>
    internal readonly struct ExpOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T y, T s) => T.Exp(x);
        public static TV Invoke<TS, TV>(TV x, TV y, TV s) where TS : ISimd<TV, T> where TV : struct => TS.Exp(x);
    }

    internal readonly struct SigmoidBackwardOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T y, T dy, T one) => dy * y * (one - y);
        public static TV Invoke<TS, TV>(TV y, TV dy, TV one) where TS : ISimd<TV, T> where TV : struct
            => TS.Multiply(TS.Multiply(dy, y), TS.Subtract(one, y));
    }

    /// <summary><c>dy · (one − y · y)</c></summary>
    internal readonly struct TanhBackwardOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T y, T dy, T one) => dy * (one - y * y);
        public static TV Invoke<TS, TV>(TV y, TV dy, TV one) where TS : ISimd<TV, T> where TV : struct
            => TS.Multiply(dy, TS.Subtract(one, TS.Multiply(y, y)));
    }
}
