using System.Numerics;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers.Activations;

/// <summary><c>relu6(x + 3) / 6</c>: 0 below −3, 1 above 3, linear between (Keras 3's <c>hard_sigmoid</c> and PyTorch's <c>hardsigmoid</c>; Keras 2 used <c>0.2·x + 0.5</c> clipped to [0, 1]).</summary>
public sealed class HardSigmoid<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "hard_sigmoid";

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features) => Elementwise.HardSigmoid(x, y);

    /// <inheritdoc/>
    /// <remarks><c>dx = dy/6</c> for −3 &lt; x &lt; 3, else 0 (PyTorch's choice at ±3).</remarks>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
        => Elementwise.HardSigmoidBackward(x, dy, dx);
}
