using System.Numerics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

public static partial class Elementwise
{
    /// <summary><c>destination[i] = x[i] + y[i]</c> (TensorPrimitives.Add).</summary>
    /// <exception cref="ArgumentException"><paramref name="y"/> differs in length from <paramref name="x"/>, or
    /// <paramref name="destination"/> is too short or partially overlaps an input.</exception>
    public static void Add<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBinary(x, y, destination, nameof(x), nameof(y), nameof(destination));
        TensorPrimitives.Add(x, y, destination);
    }

    /// <summary><c>destination[i] = x[i] · y[i]</c> (TensorPrimitives.Multiply).</summary>
    /// <exception cref="ArgumentException"><paramref name="y"/> differs in length from <paramref name="x"/>, or
    /// <paramref name="destination"/> is too short or partially overlaps an input.</exception>
    public static void Multiply<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBinary(x, y, destination, nameof(x), nameof(y), nameof(destination));
        TensorPrimitives.Multiply(x, y, destination);
    }

    /// <summary><c>destination[i] = alpha · x[i]</c> (TensorPrimitives.Multiply by a scalar).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void Scale<T>(ReadOnlySpan<T> x, T alpha, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        TensorPrimitives.Multiply(x, alpha, destination);
    }

    /// <summary><c>y[i] += alpha · x[i]</c> (BLAS axpy; TensorPrimitives.MultiplyAdd into <paramref name="y"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="y"/> differs in length from <paramref name="x"/> or partially overlaps it.</exception>
    public static void Axpy<T>(T alpha, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckSame(x.Length, y.Length, nameof(y));
        CheckNoPartialOverlap(x, y, x.Length, nameof(x), nameof(y));
        TensorPrimitives.MultiplyAdd(x, alpha, y, y);
    }

    /// <summary>
    /// Bias add along rows: <c>destination[r, j] = x[r, j] + bias[j]</c> for a row-major <c>x[rows, bias.Length]</c>.
    /// Pass the same span as <paramref name="x"/> and <paramref name="destination"/> for <c>x[r, j] += bias[j]</c>.
    /// </summary>
    /// <param name="x">Input, <c>[rows, features]</c> with <c>features = bias.Length</c>.</param>
    /// <param name="bias">Bias, <c>[features]</c>; must not overlap <paramref name="destination"/>.</param>
    /// <param name="destination">Output, <c>[rows, features]</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="x"/> is not a whole number of rows of <c>bias.Length</c>, or
    /// <paramref name="destination"/> is too short or overlaps an input.</exception>
    public static void AddBiasRows<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> bias, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int features = bias.Length;
        CheckRows(x.Length, features, nameof(x));
        CheckUnary(x, destination, nameof(x), nameof(destination));
        CheckNoOverlap(bias, destination, x.Length, nameof(bias), nameof(destination));
        if (features >= 16)
        {
            // One pass over x either way; TensorPrimitives.Add per row is as fast as a fused loop would be.
            for (int r = 0; r < x.Length; r += features)
                TensorPrimitives.Add(x.Slice(r, features), bias, destination.Slice(r, features));
        }
        else
        {
            // Rows too short for a vector call to pay for itself (e.g. one output unit).
            for (int r = 0; r < x.Length; r += features)
                for (int j = 0; j < features; j++)
                    destination[r + j] = x[r + j] + bias[j];
        }
    }

    /// <summary>
    /// Column sums, as for a bias gradient: <c>destination[j] = Σ_r x[r, j]</c>, or with
    /// <paramref name="accumulate"/> <c>destination[j] += Σ_r x[r, j]</c>, for a row-major <c>x[rows, columns]</c>.
    /// </summary>
    /// <param name="x">Input, <c>[rows, columns]</c>.</param>
    /// <param name="destination">Output, <c>[columns]</c>; must not overlap <paramref name="x"/>.</param>
    /// <param name="columns">Row length.</param>
    /// <param name="accumulate">Add into <paramref name="destination"/> instead of overwriting it.</param>
    /// <exception cref="ArgumentException"><paramref name="x"/> is not a whole number of rows of <paramref name="columns"/>,
    /// or <paramref name="destination"/> is too short or overlaps <paramref name="x"/>.</exception>
    /// <remarks>Reads <paramref name="x"/> once and writes each destination element once (the loop in Kernels/Common/ColumnLoop.cs).</remarks>
    public static void SumColumns<T>(ReadOnlySpan<T> x, Span<T> destination, int columns, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckRows(x.Length, columns, nameof(x));
        TensorChecks.Destination(destination.Length, columns, nameof(destination));
        CheckNoOverlap(x, destination, columns, nameof(x), nameof(destination));
        ColumnLoop.Sum(x, columns, destination, accumulate);
    }
}
