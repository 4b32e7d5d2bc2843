using System.Numerics;

namespace Nn.Simd.Layers.Activations;

/// <summary><c>max(x, 0)</c>.</summary>
public sealed class Relu<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "relu";

    /// <inheritdoc/>
    public override bool BackwardNeedsOnlyOutput => true;

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features) => TensorPrimitives.Max(x, T.Zero, y);

    /// <inheritdoc/>
    /// <remarks>Uses y &gt; 0, which equals x &gt; 0, so x is not read.</remarks>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
        => Nn.Simd.Tensors.Kernels.Elementwise.ReluBackward(y, dy, dx);
}
