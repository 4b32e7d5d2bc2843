using System.Numerics;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers.Activations;

/// <summary><c>min(max(x, 0), 6)</c>.</summary>
public sealed class Relu6<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "relu6";

    /// <inheritdoc/>
    public override bool BackwardNeedsOnlyOutput => true;

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features) => Elementwise.Relu6(x, y);

    /// <inheritdoc/>
    /// <remarks><c>dx = dy</c> for 0 &lt; y &lt; 6, else 0; y is read, not x (y equals x there).</remarks>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
        => Elementwise.Relu6Backward(y, dy, dx);
}
