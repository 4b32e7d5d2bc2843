using System.Numerics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

public static partial class Elementwise
{
    // PRelu, y = x > 0 ? x : α·x, with α either one value per element (Prelu(x, alpha span)) or one value for the
    // whole span (Prelu(x, alpha scalar)); the layer splits its input into runs of one kind or the other. Each pass
    // is one of our loops: the forward is a select on a product, which TensorPrimitives would take three passes and a
    // buffer for; the backward reads x and dy once per output.

    /// <summary><c>destination[i] = x[i] &gt; 0 ? x[i] : alpha[i] · x[i]</c> (PRelu with one slope per element).</summary>
    /// <exception cref="ArgumentException"><paramref name="alpha"/> differs in length from <paramref name="x"/>, or
    /// <paramref name="destination"/> is too short or partially overlaps an input.</exception>
    public static void Prelu<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> alpha, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBinary(x, alpha, destination, nameof(x), nameof(alpha), nameof(destination));
        ElementLoop.Map<T, PreluOperator<T>>(x, alpha, T.Zero, destination);
    }

    /// <summary><c>destination[i] = x[i] &gt; 0 ? x[i] : alpha · x[i]</c> (PRelu with one slope for the span).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void Prelu<T>(ReadOnlySpan<T> x, T alpha, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        ElementLoop.Map<T, PreluScalarOperator<T>>(x, x, alpha, destination);
    }

    /// <summary>PReLU's backward with one slope per element: <c>dx[i] = x[i] &gt; 0 ? dy[i] : alpha[i] · dy[i]</c> and
    /// <c>dAlpha[i] += min(x[i], 0) · dy[i]</c>; with <paramref name="dAlpha"/> empty only <paramref name="dx"/> is written.</summary>
    /// <remarks>At <c>x = 0</c> the slope taken is α (PyTorch's choice); the α gradient is 0 there either way.</remarks>
    /// <exception cref="ArgumentException">An input differs in length from <paramref name="x"/>, <paramref name="dx"/>
    /// or a non-empty <paramref name="dAlpha"/> is too short, or a destination partially overlaps an input.</exception>
    public static void PreluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, ReadOnlySpan<T> alpha, Span<T> dx, Span<T> dAlpha)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBinary(x, dy, dx, nameof(x), nameof(dy), nameof(dx));
        CheckSame(x.Length, alpha.Length, nameof(alpha));
        CheckNoPartialOverlap(alpha, dx, x.Length, nameof(alpha), nameof(dx));
        if (!dAlpha.IsEmpty)
        {
            CheckSame(x.Length, dAlpha.Length, nameof(dAlpha));
            CheckNoOverlap(x, dAlpha, x.Length, nameof(x), nameof(dAlpha));
            CheckNoOverlap(dy, dAlpha, x.Length, nameof(dy), nameof(dAlpha));
            CheckNoOverlap(dx, dAlpha, x.Length, nameof(dx), nameof(dAlpha));
            // First, because dx may be written over dy.
            ElementLoop.Map3<T, PreluAlphaGradientOperator<T>>(x, dy, dAlpha, dAlpha);
        }
        ElementLoop.Map3<T, PreluInputGradientOperator<T>>(x, dy, alpha, dx);
    }

    /// <summary>PReLU's backward with one slope for the span: <c>dx[i] = x[i] &gt; 0 ? dy[i] : alpha · dy[i]</c>;
    /// returns the slope's gradient <c>Σ_i min(x[i], 0) · dy[i]</c>, or zero without reading when <paramref name="alphaGradient"/> is false.</summary>
    /// <exception cref="ArgumentException"><paramref name="dy"/> differs in length from <paramref name="x"/>, or
    /// <paramref name="dx"/> is too short or partially overlaps an input.</exception>
    public static T PreluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, T alpha, Span<T> dx, bool alphaGradient = true)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBinary(x, dy, dx, nameof(x), nameof(dy), nameof(dx));
        T sum = alphaGradient ? ElementLoop.Sum<T, PreluNegativePartOperator<T>>(x, dy, T.Zero) : T.Zero;
        ElementLoop.Map<T, PreluScalarInputGradientOperator<T>>(x, dy, alpha, dx);
        return sum;
    }

    /// <summary><c>x &gt; 0 ? x : alpha · x</c>; a NaN x gives NaN.</summary>
    internal readonly struct PreluOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T alpha, T _) => x > T.Zero ? x : alpha * x;
        public static TV Invoke<TS, TV>(TV x, TV alpha, TV _) where TS : ISimd<TV, T> where TV : struct
            => TS.WhereLess(TS.Zero, x, x, TS.Multiply(alpha, x));
    }

    /// <summary><c>x &gt; 0 ? x : alpha · x</c> with the slope passed as the scalar.</summary>
    internal readonly struct PreluScalarOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T _, T alpha) => x > T.Zero ? x : alpha * x;
        public static TV Invoke<TS, TV>(TV x, TV _, TV alpha) where TS : ISimd<TV, T> where TV : struct
            => TS.WhereLess(TS.Zero, x, x, TS.Multiply(alpha, x));
    }

    /// <summary><c>x &gt; 0 ? dy : alpha · dy</c></summary>
    internal readonly struct PreluInputGradientOperator<T> : ITernaryElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T dy, T alpha) => x > T.Zero ? dy : alpha * dy;
        public static TV Invoke<TS, TV>(TV x, TV dy, TV alpha) where TS : ISimd<TV, T> where TV : struct
            => TS.WhereLess(TS.Zero, x, dy, TS.Multiply(alpha, dy));
    }

    /// <summary><c>x &gt; 0 ? dy : alpha · dy</c> with the slope passed as the scalar.</summary>
    internal readonly struct PreluScalarInputGradientOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T dy, T alpha) => x > T.Zero ? dy : alpha * dy;
        public static TV Invoke<TS, TV>(TV x, TV dy, TV alpha) where TS : ISimd<TV, T> where TV : struct
            => TS.WhereLess(TS.Zero, x, dy, TS.Multiply(alpha, dy));
    }

    /// <summary><c>gradient + (x &gt; 0 ? 0 : x · dy)</c>, i.e. <c>gradient + min(x, 0) · dy</c>.</summary>
    internal readonly struct PreluAlphaGradientOperator<T> : ITernaryElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T dy, T gradient) => x > T.Zero ? gradient : gradient + x * dy;
        public static TV Invoke<TS, TV>(TV x, TV dy, TV gradient) where TS : ISimd<TV, T> where TV : struct
            => TS.WhereLess(TS.Zero, x, gradient, TS.Add(gradient, TS.Multiply(x, dy)));
    }

    /// <summary><c>x &gt; 0 ? 0 : x · dy</c>, i.e. <c>min(x, 0) · dy</c>.</summary>
    internal readonly struct PreluNegativePartOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T dy, T zero) => x > T.Zero ? T.Zero : x * dy;
        public static TV Invoke<TS, TV>(TV x, TV dy, TV zero) where TS : ISimd<TV, T> where TV : struct
            => TS.WhereLess(zero, x, zero, TS.Multiply(x, dy));
    }
}
