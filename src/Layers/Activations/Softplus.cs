using System.Numerics;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers.Activations;

/// <summary><c>ln(1 + e^x)</c>, computed as <c>log1p(e^−|x|) + max(x, 0)</c> so that it neither overflows nor rounds small values to 0. PyTorch returns x itself above x = 20, which differs by less than 1e−8 relative.</summary>
public sealed class Softplus<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "softplus";

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features) => Elementwise.Softplus(x, y);

    /// <inheritdoc/>
    /// <remarks><c>dx = dy · sigmoid(x)</c>, from x (<c>1 − e^−y</c> cancels for small y).</remarks>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
        => Elementwise.SoftplusBackward(x, dy, dx);
}
