using System.Numerics;

namespace Nn.Simd.Layers.Activations;

/// <summary><c>1 / (1 + exp(-x))</c>.</summary>
public sealed class Sigmoid<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "sigmoid";

    /// <inheritdoc/>
    public override bool BackwardNeedsOnlyOutput => true;

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features) => TensorPrimitives.Sigmoid(x, y);

    /// <inheritdoc/>
    /// <remarks><c>dx = dy · y · (1 − y)</c>.</remarks>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
        => Nn.Simd.Tensors.Kernels.Elementwise.SigmoidBackward(y, dy, dx);
}
