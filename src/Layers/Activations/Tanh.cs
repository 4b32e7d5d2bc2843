using System.Numerics;

namespace Nn.Simd.Layers.Activations;

/// <summary><c>tanh(x)</c>.</summary>
public sealed class Tanh<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "tanh";

    /// <inheritdoc/>
    public override bool BackwardNeedsOnlyOutput => true;

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features) => TensorPrimitives.Tanh(x, y);

    /// <inheritdoc/>
    /// <remarks><c>dx = dy · (1 − y²)</c>.</remarks>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
        => Nn.Simd.Tensors.Kernels.Elementwise.TanhBackward(y, dy, dx);
}
