using System.Numerics;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers.Activations;

/// <summary>The sigmoid linear unit, <c>x · sigmoid(x) = x / (1 + e^−x)</c> (Keras' <c>silu</c>, also registered as <c>swish</c>).</summary>
public sealed class Silu<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "silu";

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features) => Elementwise.Silu(x, y);

    /// <inheritdoc/>
    /// <remarks><c>dx = dy · s · (1 + x·(1 − s))</c> with <c>s = sigmoid(x)</c>, from x (y/x is undefined at 0).</remarks>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
        => Elementwise.SiluBackward(x, dy, dx);
}
