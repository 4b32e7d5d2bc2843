using System.Numerics;

namespace Nn.Simd.Tensors;

/// <summary>Argument checks that throw <see cref="ArgumentException"/> naming the argument and the shapes involved.</summary>
public static class TensorChecks
{
    /// <summary>Throws unless <paramref name="actual"/> has the same shape as <paramref name="expected"/>.</summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static void SameShape<T>(Tensor<T> expected, Tensor<T> actual, string paramName)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (expected.Shape != actual.Shape)
            throw new ArgumentException($"{paramName} has shape {actual.Shape} but {expected.Shape} was expected.", paramName);
    }

    /// <summary>Throws unless <paramref name="actual"/> equals <paramref name="expected"/>.</summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static void Shape(TensorShape actual, TensorShape expected, string paramName)
    {
        if (actual != expected)
            throw new ArgumentException($"{paramName} has shape {actual} but {expected} was expected.", paramName);
    }

    /// <summary>Throws unless the tensor has the given rank.</summary>
    /// <exception cref="ArgumentException">The rank differs.</exception>
    public static void Rank(TensorShape actual, int rank, string paramName, string layout)
    {
        if (actual.Rank != rank)
            throw new ArgumentException($"{paramName} must be rank {rank} {layout}; got shape {actual}.", paramName);
    }

    /// <summary>Throws when the destination is shorter than <paramref name="length"/>.</summary>
    /// <exception cref="ArgumentException">The destination is too short.</exception>
    public static void Destination(int destinationLength, int length, string paramName = "destination")
    {
        if (destinationLength < length)
            throw new ArgumentException($"{paramName} has {destinationLength} elements but {length} are needed.", paramName);
    }
}
