using System.Numerics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

public static partial class Elementwise
{
    /// <summary>
    /// Row-wise softmax, max-subtracted: <c>y[r, j] = e^(x[r, j] − m_r) / Σ_k e^(x[r, k] − m_r)</c> with
    /// <c>m_r = max_k x[r, k]</c>, over rows of <paramref name="features"/> values. A row holding +∞, or only −∞,
    /// gives NaN (as PyTorch does).
    /// </summary>
    /// <param name="x">Input, <c>[rows, features]</c>.</param>
    /// <param name="y">Output, <c>[rows, features]</c>; may be <paramref name="x"/> itself.</param>
    /// <param name="features">Row length.</param>
    /// <exception cref="ArgumentException">The length is not a multiple of <paramref name="features"/>, or
    /// <paramref name="y"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    /// <remarks>Three passes per row: the max (TensorPrimitives), <c>e^(x − m)</c> written and summed in one fused
    /// pass, then a multiplication by the reciprocal of the sum.</remarks>
    public static void SoftmaxRows<T>(ReadOnlySpan<T> x, Span<T> y, int features) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckRows(x.Length, features, nameof(x));
        CheckUnary(x, y, nameof(x), nameof(y));
        for (int r = 0; r < x.Length; r += features)
        {
            var xr = x.Slice(r, features);
            var yr = y.Slice(r, features);
            T max = TensorPrimitives.Max(xr);
            T sum = ElementLoop.MapAndSum<T, ExpShiftedOperator<T>>(xr, xr, max, yr);
            TensorPrimitives.Multiply(yr, T.One / sum, yr);
        }
    }

    /// <summary>
    /// Row-wise log-softmax, max-subtracted: <c>y[r, j] = x[r, j] − m_r − log Σ_k e^(x[r, k] − m_r)</c>.
    /// </summary>
    /// <param name="x">Input, <c>[rows, features]</c>.</param>
    /// <param name="y">Output, <c>[rows, features]</c>; may be <paramref name="x"/> itself.</param>
    /// <param name="features">Row length.</param>
    /// <exception cref="ArgumentException">The length is not a multiple of <paramref name="features"/>, or
    /// <paramref name="y"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    /// <remarks>Three passes per row, none of them storing exponentials: the max, the fused sum of
    /// <c>e^(x − m)</c>, then one subtraction.</remarks>
    public static void LogSoftmaxRows<T>(ReadOnlySpan<T> x, Span<T> y, int features) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckRows(x.Length, features, nameof(x));
        CheckUnary(x, y, nameof(x), nameof(y));
        for (int r = 0; r < x.Length; r += features)
        {
            var xr = x.Slice(r, features);
            T max = TensorPrimitives.Max(xr);
            T sum = ElementLoop.Sum<T, ExpShiftedOperator<T>>(xr, xr, max);
            TensorPrimitives.Subtract(xr, max + T.Log(sum), y.Slice(r, features));
        }
    }

    /// <summary>Row-wise softmax backward: <c>dx[r, i] = y[r, i] · (dy[r, i] − Σ_j dy[r, j] · y[r, j])</c>.</summary>
    /// <param name="y">Softmax output, <c>[rows, features]</c>.</param>
    /// <param name="dy">Gradient of the output, <c>[rows, features]</c>.</param>
    /// <param name="dx">Gradient of the input, <c>[rows, features]</c>; may be <paramref name="y"/> or <paramref name="dy"/>.</param>
    /// <param name="features">Row length.</param>
    /// <exception cref="ArgumentException">A length is wrong, or <paramref name="dx"/> partially overlaps an input.</exception>
    public static void SoftmaxRowsBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckRows(y.Length, features, nameof(y));
        CheckBinary(y, dy, dx, nameof(y), nameof(dy), nameof(dx));
        for (int r = 0; r < y.Length; r += features)
        {
            var yr = y.Slice(r, features);
            var dyr = dy.Slice(r, features);
            T dot = TensorPrimitives.Dot(yr, dyr);
            ElementLoop.Map<T, SoftmaxBackwardOperator<T>>(yr, dyr, dot, dx.Slice(r, features));
        }
    }

    /// <summary>Row-wise log-softmax backward: <c>dx[r, i] = dy[r, i] − e^y[r, i] · Σ_j dy[r, j]</c>.</summary>
    /// <param name="y">Log-softmax output, <c>[rows, features]</c>.</param>
    /// <param name="dy">Gradient of the output, <c>[rows, features]</c>.</param>
    /// <param name="dx">Gradient of the input, <c>[rows, features]</c>; may be <paramref name="y"/> or <paramref name="dy"/>.</param>
    /// <param name="features">Row length.</param>
    /// <exception cref="ArgumentException">A length is wrong, or <paramref name="dx"/> partially overlaps an input.</exception>
    public static void LogSoftmaxRowsBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckRows(y.Length, features, nameof(y));
        CheckBinary(y, dy, dx, nameof(y), nameof(dy), nameof(dx));
        for (int r = 0; r < y.Length; r += features)
        {
            var yr = y.Slice(r, features);
            var dyr = dy.Slice(r, features);
            T sum = TensorPrimitives.Sum(dyr);
            ElementLoop.Map<T, LogSoftmaxBackwardOperator<T>>(yr, dyr, sum, dx.Slice(r, features));
        }
    }

    /// <summary>
    /// Row-wise argmax: <c>destination[r] = argmax_j x[r, j]</c>, the first index on ties; a row holding NaN gives
    /// the index of its first NaN (TensorPrimitives.IndexOfMax).
    /// </summary>
    /// <param name="x">Input, <c>[rows, features]</c>.</param>
    /// <param name="destination">Output, <c>[rows]</c>.</param>
    /// <param name="features">Row length.</param>
    /// <exception cref="ArgumentException">The length is not a multiple of <paramref name="features"/>, or
    /// <paramref name="destination"/> has fewer than <c>rows</c> elements.</exception>
    public static void ArgMaxRows<T>(ReadOnlySpan<T> x, Span<int> destination, int features) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckRows(x.Length, features, nameof(x));
        int rows = x.Length / features;
        TensorChecks.Destination(destination.Length, rows, nameof(destination));
        for (int r = 0; r < rows; r++) destination[r] = TensorPrimitives.IndexOfMax(x.Slice(r * features, features));
    }

    /// <summary><c>e^(x − max)</c></summary>
    internal readonly struct ExpShiftedOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T _, T max) => T.Exp(x - max);
        public static TV Invoke<TS, TV>(TV x, TV _, TV max) where TS : ISimd<TV, T> where TV : struct => TS.Exp(TS.Subtract(x, max));
    }

    /// <summary><c>y · (dy − dot)</c></summary>
    internal readonly struct SoftmaxBackwardOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T y, T dy, T dot) => y * (dy - dot);
        public static TV Invoke<TS, TV>(TV y, TV dy, TV dot) where TS : ISimd<TV, T> where TV : struct => TS.Multiply(y, TS.Subtract(dy, dot));
    }

    /// <summary><c>dy − e^y · sum</c></summary>
    internal readonly struct LogSoftmaxBackwardOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T y, T dy, T sum) => dy - T.Exp(y) * sum;
        public static TV Invoke<TS, TV>(TV y, TV dy, TV sum) where TS : ISimd<TV, T> where TV : struct => TS.Subtract(dy, TS.Multiply(TS.Exp(y), sum));
    }
}
