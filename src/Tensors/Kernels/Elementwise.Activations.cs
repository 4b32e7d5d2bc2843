using System.Numerics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

public static partial class Elementwise
{
    /// <summary><c>destination[i] = max(x[i], 0)</c>; NaN stays NaN (TensorPrimitives.Max with 0).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void Relu<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        TensorPrimitives.Max(x, T.Zero, destination);
    }

    /// <summary><c>destination[i] = 1 / (1 + e^(−x[i]))</c> (TensorPrimitives.Sigmoid).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void Sigmoid<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        if (x.IsEmpty) return; // TensorPrimitives.Sigmoid rejects empty input; every other kernel here accepts it
        TensorPrimitives.Sigmoid(x, destination);
    }

    /// <summary><c>destination[i] = tanh(x[i])</c> (TensorPrimitives.Tanh).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void Tanh<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        TensorPrimitives.Tanh(x, destination);
    }

    /// <summary><c>destination[i] = e^x[i]</c> (TensorPrimitives.Exp).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void Exp<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        TensorPrimitives.Exp(x, destination);
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
