using System.Numerics;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers.Activations;

/// <summary><c>x · relu6(x + 3) / 6</c>, i.e. <c>x · hard_sigmoid(x)</c> (Keras' <c>hard_silu</c>, also registered as <c>hard_swish</c>; PyTorch's <c>hardswish</c>).</summary>
public sealed class HardSilu<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "hard_silu";

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features) => Elementwise.HardSilu(x, y);

    /// <inheritdoc/>
    /// <remarks><c>dx = 0</c> for x &lt; −3, <c>dy·(x/3 + 1/2)</c> for −3 ≤ x ≤ 3, <c>dy</c> above (PyTorch's choice at ±3).</remarks>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
        => Elementwise.HardSiluBackward(x, dy, dx);
}
