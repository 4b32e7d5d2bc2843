using System.Numerics;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers.Activations;

/// <summary><c>x · tanh(softplus(x))</c> (Misra, 2019), computed as <c>x · n/(n + 2)</c> with <c>n = e^x(e^x + 2)</c>.</summary>
public sealed class Mish<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "mish";

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features) => Elementwise.Mish(x, y);

    /// <inheritdoc/>
    /// <remarks><c>dx = dy · (t + x·sigmoid(x)·(1 − t²))</c> with <c>t = tanh(softplus(x))</c>, from x.</remarks>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
        => Elementwise.MishBackward(x, dy, dx);
}
