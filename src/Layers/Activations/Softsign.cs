using System.Numerics;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers.Activations;

/// <summary><c>x / (1 + |x|)</c>.</summary>
public sealed class Softsign<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "softsign";

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features) => Elementwise.Softsign(x, y);

    /// <inheritdoc/>
    /// <remarks><c>dx = dy / (1 + |x|)²</c>, from x (<c>(1 − |y|)²</c> cancels as |y| → 1).</remarks>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
        => Elementwise.SoftsignBackward(x, dy, dx);
}
