using System.Numerics;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers.Activations;

/// <summary>Row-wise <c>x − max − ln Σ e^(x − max)</c> over rows of <c>features</c> values (the last axis, as Keras' default <c>axis=-1</c>).</summary>
public sealed class LogSoftmax<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "log_softmax";

    /// <inheritdoc/>
    public override bool BackwardNeedsOnlyOutput => true;

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features) => Elementwise.LogSoftmaxRows(x, y, features);

    /// <inheritdoc/>
    /// <remarks>Per row, <c>dx_i = dy_i − e^(y_i) · Σ_j dy_j</c>; y is read, not x.</remarks>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
        => Elementwise.LogSoftmaxRowsBackward(y, dy, dx, features);
}
