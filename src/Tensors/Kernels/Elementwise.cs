using System.Numerics;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>
/// Element-wise kernels and reductions that <c>System.Numerics.Tensors.TensorPrimitives</c> does not provide
/// as one pass: activation derivatives, row-wise softmax, bias add along rows and column sums.
/// </summary>
/// <remarks>Inputs come first, the destination last. In-place use (destination equal to an input) is allowed.</remarks>
public static partial class Elementwise
{
    /// <summary><c>dx[i] = y[i] &gt; 0 ? dy[i] : 0</c>.</summary>
    /// <exception cref="ArgumentException">A span is too short.</exception>
    public static void ReluBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckSame(y.Length, dy.Length, nameof(dy));
        TensorChecks.Destination(dx.Length, y.Length, nameof(dx));
        for (int i = 0; i < y.Length; i++) dx[i] = y[i] > T.Zero ? dy[i] : T.Zero;
    }

    /// <summary><c>dx[i] = dy[i] · y[i] · (1 − y[i])</c>, the sigmoid derivative from its output.</summary>
    /// <exception cref="ArgumentException">A span is too short.</exception>
    public static void SigmoidBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckSame(y.Length, dy.Length, nameof(dy));
        TensorChecks.Destination(dx.Length, y.Length, nameof(dx));
        for (int i = 0; i < y.Length; i++) dx[i] = dy[i] * y[i] * (T.One - y[i]);
    }

    /// <summary><c>dx[i] = dy[i] · (1 − y[i]²)</c>, the tanh derivative from its output.</summary>
    /// <exception cref="ArgumentException">A span is too short.</exception>
    public static void TanhBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckSame(y.Length, dy.Length, nameof(dy));
        TensorChecks.Destination(dx.Length, y.Length, nameof(dx));
        for (int i = 0; i < y.Length; i++) dx[i] = dy[i] * (T.One - y[i] * y[i]);
    }

    /// <summary>Row-wise softmax, max-subtracted: <c>y[r, j] = exp(x[r, j] − max_r) / Σ_j exp(x[r, j] − max_r)</c>.</summary>
    /// <exception cref="ArgumentException">The length is not a multiple of <paramref name="features"/>, or the destination is too short.</exception>
    public static void SoftmaxRows<T>(ReadOnlySpan<T> x, Span<T> y, int features) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckRows(x.Length, features, nameof(x));
        TensorChecks.Destination(y.Length, x.Length, nameof(y));
        for (int r = 0; r < x.Length; r += features)
        {
            var xr = x.Slice(r, features);
            var yr = y.Slice(r, features);
            T max = TensorPrimitives.Max(xr);
            TensorPrimitives.Subtract(xr, max, yr);
            TensorPrimitives.Exp(yr, yr);
            T sum = TensorPrimitives.Sum<T>(yr);
            TensorPrimitives.Divide(yr, sum, yr);
        }
    }

    /// <summary>Row-wise softmax backward: <c>dx[r, i] = y[r, i] · (dy[r, i] − Σ_j dy[r, j] · y[r, j])</c>.</summary>
    /// <exception cref="ArgumentException">A length is wrong.</exception>
    public static void SoftmaxRowsBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckRows(y.Length, features, nameof(y));
        CheckSame(y.Length, dy.Length, nameof(dy));
        TensorChecks.Destination(dx.Length, y.Length, nameof(dx));
        for (int r = 0; r < y.Length; r += features)
        {
            var yr = y.Slice(r, features);
            var dyr = dy.Slice(r, features);
            var dxr = dx.Slice(r, features);
            T dot = TensorPrimitives.Dot(yr, dyr);
            for (int i = 0; i < features; i++) dxr[i] = yr[i] * (dyr[i] - dot);
        }
    }

    internal static void CheckSame(int expected, int actual, string paramName)
    {
        if (expected != actual)
            throw new ArgumentException($"{paramName} has {actual} elements but {expected} were expected.", paramName);
    }

    internal static void CheckRows(int length, int features, string paramName)
    {
        if (features <= 0 || length % features != 0)
            throw new ArgumentException($"{paramName} has {length} elements, which is not a whole number of rows of {features}.", paramName);
    }
}
