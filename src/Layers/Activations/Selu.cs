using System.Numerics;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers.Activations;

/// <summary>The scaled ELU, <c>scale · (x &gt; 0 ? x : α·(e^x − 1))</c> with Keras' constants α = 1.67326324 and scale = 1.05070098 (Klambauer et al., 2017); PyTorch's longer constants agree to 1.4e−9 relative.</summary>
public sealed class Selu<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "selu";

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features) => Elementwise.Selu(x, y);

    /// <inheritdoc/>
    /// <remarks><c>dx = dy·scale</c> for x &gt; 0, else <c>dy·scale·α·e^x</c>.</remarks>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
        => Elementwise.SeluBackward(x, dy, dx);
}
