using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers.Activations;

/// <summary>
/// The exponential linear unit, <c>x</c> for x &gt; 0, else <c>α·(e^x − 1)</c> (Clevert et al., 2015). The default
/// α = 1 is Keras' and PyTorch's. e^x − 1 is computed without cancellation near 0.
/// </summary>
public sealed class Elu<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the activation.</summary>
    /// <param name="alpha">The value approached as x → −∞ is −α; finite and non-negative.</param>
    /// <exception cref="ArgumentOutOfRangeException">Alpha is negative or not finite.</exception>
    public Elu(double alpha = 1.0)
    {
        if (!(alpha >= 0) || double.IsInfinity(alpha))
            throw new ArgumentOutOfRangeException(nameof(alpha), $"alpha must be finite and non-negative; got {alpha}.");
        Alpha = alpha;
    }

    /// <summary>α, the scale of the negative side.</summary>
    public double Alpha { get; }

    /// <inheritdoc/>
    /// <remarks><c>elu</c>, or <c>elu:α</c> when α is not 1 (so that a saved model keeps it).</remarks>
    public override string Name => Alpha == 1.0 ? "elu" : "elu:" + Alpha.ToString("R", CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features) => Elementwise.Elu(x, T.CreateChecked(Alpha), y);

    /// <inheritdoc/>
    /// <remarks><c>dx = dy</c> for x &gt; 0, else <c>dy·α·e^x</c> (from x: <c>y + α</c> cancels as y → −α).</remarks>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
        => Elementwise.EluBackward(x, dy, T.CreateChecked(Alpha), dx);
}
