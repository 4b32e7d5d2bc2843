using System.Numerics;

namespace Nn.Simd.Layers.Activations;

/// <summary>Row-wise <c>exp(x − max) / Σ exp(x − max)</c> over rows of <c>features</c> values.</summary>
public sealed class Softmax<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "softmax";

    /// <inheritdoc/>
    public override bool BackwardNeedsOnlyOutput => true;

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features)
        => Nn.Simd.Tensors.Kernels.Elementwise.SoftmaxRows(x, y, features);

    /// <inheritdoc/>
    /// <remarks>Per row, <c>dx_i = y_i · (dy_i − Σ_j dy_j y_j)</c>.</remarks>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
        => Nn.Simd.Tensors.Kernels.Elementwise.SoftmaxRowsBackward(y, dy, dx, features);
}
