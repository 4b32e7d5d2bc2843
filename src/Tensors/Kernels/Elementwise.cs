using System.Numerics;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>
/// Element-wise kernels and row/column reductions for the layers: arithmetic (add, multiply, scale, axpy, bias
/// add along rows, column sums), activations and their derivatives, row-wise softmax, log-softmax and argmax.
/// </summary>
/// <remarks>
/// <para>Where <c>System.Numerics.Tensors.TensorPrimitives</c> has the operation it is called directly (add,
/// multiply, exp, tanh, sigmoid, max, dot, index of max). Our own kernels exist only where fusing saves passes
/// over memory: the activation derivatives, column sums and the softmax passes. They are
/// <c>IElementOperator</c> structs run by the shared loops in <c>Kernels/Common</c>.</para>
/// <para>Conventions: inputs come first, the destination last (row-wise kernels then take the row length). The
/// destination may be longer than needed; only the first <c>n</c> elements are written. In-place use
/// (destination starting at an input) is allowed unless a method says otherwise; a destination that partially
/// overlaps an input throws. Every <see cref="ArgumentException"/> names the argument and the lengths involved.</para>
/// </remarks>
public static partial class Elementwise
{
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

    /// <summary>Throws when the first <paramref name="length"/> elements of the destination share memory with the
    /// input without starting at the same element (exact aliasing, i.e. in-place use, is allowed).</summary>
    internal static void CheckNoPartialOverlap<T>(ReadOnlySpan<T> input, Span<T> destination, int length, string inputName, string destinationName)
    {
        if (input.Overlaps(destination[..length], out int offset) && offset != 0)
            throw new ArgumentException(
                $"{destinationName} overlaps {inputName} with an offset of {offset} elements; pass the same span for in-place use or non-overlapping spans.",
                destinationName);
    }

    /// <summary>Throws when the destination shares any memory with the input.</summary>
    internal static void CheckNoOverlap<T>(ReadOnlySpan<T> input, Span<T> destination, int length, string inputName, string destinationName)
    {
        if (input.Overlaps(destination[..length]))
            throw new ArgumentException($"{destinationName} must not overlap {inputName}.", destinationName);
    }

    /// <summary>The checks of a binary kernel: equal input lengths, destination long enough, no partial overlap.</summary>
    internal static void CheckBinary<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination,
        string xName, string yName, string destinationName)
    {
        CheckSame(x.Length, y.Length, yName);
        TensorChecks.Destination(destination.Length, x.Length, destinationName);
        CheckNoPartialOverlap(x, destination, x.Length, xName, destinationName);
        CheckNoPartialOverlap(y, destination, x.Length, yName, destinationName);
    }

    /// <summary>The checks of a unary kernel: destination long enough, no partial overlap.</summary>
    internal static void CheckUnary<T>(ReadOnlySpan<T> x, Span<T> destination, string xName, string destinationName)
    {
        TensorChecks.Destination(destination.Length, x.Length, destinationName);
        CheckNoPartialOverlap(x, destination, x.Length, xName, destinationName);
    }
}
