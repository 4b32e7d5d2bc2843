using System.Numerics;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers.Activations;

/// <summary><c>e^x</c>. In float, results below about 2.4e−38 are flushed to 0 (see <see cref="Elementwise.Exp{T}"/>).</summary>
public sealed class Exponential<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "exponential";

    /// <inheritdoc/>
    public override bool BackwardNeedsOnlyOutput => true;

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features) => Elementwise.Exp(x, y);

    /// <inheritdoc/>
    /// <remarks><c>dx = dy · y</c>.</remarks>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
        => Elementwise.Multiply(dy, y, dx);
}
