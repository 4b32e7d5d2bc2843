using System.Numerics;

namespace Nn.Simd.Layers.Activations;

/// <summary>
/// An activation function applied row-wise: <c>y = f(x)</c>, with its backward pass. Element-wise functions
/// ignore <c>features</c>; <see cref="Softmax{T}"/> normalises each row of that width.
/// </summary>
public abstract class Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The Keras name, e.g. <c>relu</c>; an activation with a parameter off its default appends it in the
    /// config form that initializers and regularizers use (<c>elu:0.5</c>, <c>leaky_relu:0.1</c>), which
    /// <see cref="Activations.Get{T}"/> reads back, so layers that save their activation by name keep it.</summary>
    public abstract string Name { get; }

    /// <summary>Computes <c>y = f(x)</c>. In-place (<c>y</c> is <c>x</c>) is allowed.</summary>
    /// <param name="x">The input, rows of <paramref name="features"/> values.</param>
    /// <param name="y">The destination, the same length.</param>
    /// <param name="features">The row width.</param>
    public abstract void Forward(ReadOnlySpan<T> x, Span<T> y, int features);

    /// <summary>Computes <c>dx = f'(x) ⊙ dy</c> (the Jacobian-vector product for softmax). <c>dx</c> may alias <c>dy</c>.</summary>
    /// <param name="x">The forward input.</param>
    /// <param name="y">The forward output.</param>
    /// <param name="dy">The gradient with respect to y.</param>
    /// <param name="dx">The destination for the gradient with respect to x.</param>
    /// <param name="features">The row width.</param>
    public abstract void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features);

    /// <summary>True when <see cref="Backward"/> does not read <c>x</c>, so a layer may compute in place.</summary>
    public virtual bool BackwardNeedsOnlyOutput => false;

    /// <inheritdoc/>
    public override string ToString() => Name;
}
