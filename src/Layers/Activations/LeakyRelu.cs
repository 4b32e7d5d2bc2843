using System.Numerics;

namespace Nn.Simd.Layers.Activations;

/// <summary><c>x</c> for x &gt; 0, else <c>negativeSlope · x</c>. The default slope, 0.3, is Keras' <c>LeakyReLU</c> layer default.</summary>
public sealed class LeakyRelu<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the activation.</summary>
    /// <param name="negativeSlope">The slope for negative inputs; finite and non-negative.</param>
    /// <exception cref="ArgumentOutOfRangeException">The slope is negative or not finite.</exception>
    public LeakyRelu(double negativeSlope = 0.3)
    {
        if (!(negativeSlope >= 0) || double.IsInfinity(negativeSlope))
            throw new ArgumentOutOfRangeException(nameof(negativeSlope), $"negativeSlope must be finite and non-negative; got {negativeSlope}.");
        NegativeSlope = negativeSlope;
    }

    /// <summary>The slope for negative inputs.</summary>
    public double NegativeSlope { get; }

    /// <inheritdoc/>
    /// <remarks><c>leaky_relu</c>, or <c>leaky_relu:slope</c> when the slope is not 0.3 (so that a saved model keeps it).</remarks>
    public override string Name => NegativeSlope == 0.3 ? "leaky_relu" : "leaky_relu:" + NegativeSlope.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features)
    {
        T a = T.CreateChecked(NegativeSlope);
        for (int i = 0; i < x.Length; i++) y[i] = x[i] > T.Zero ? x[i] : a * x[i];
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
    {
        T a = T.CreateChecked(NegativeSlope);
        for (int i = 0; i < x.Length; i++) dx[i] = x[i] > T.Zero ? dy[i] : a * dy[i];
    }
}
