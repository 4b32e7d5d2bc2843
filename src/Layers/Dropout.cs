using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Inverted dropout, Keras' <c>Dropout</c>: while training, each element is zeroed with probability
/// <see cref="Rate"/> and the survivors are scaled by <c>1/(1 − rate)</c>, so inference needs no rescaling;
/// at inference the layer is the identity. Any input shape.
/// </summary>
/// <remarks>
/// The mask is drawn from a <see cref="Random"/> seeded by <see cref="NoiseLayer{T}.Seed"/>, so a seeded layer is
/// repeatable. For gradient checks the mask can be held fixed, either with <see cref="NoiseLayer{T}.FreezeMask"/> (reuse
/// the last mask while the shape is unchanged) or by calling <see cref="NoiseLayer{T}.Reseed"/> before every forward
/// pass (e.g. from <c>GradientCheck.Options.BeforeForward</c>).
/// </remarks>
public sealed class Dropout<T> : NoiseLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer.</summary>
    /// <param name="rate">The probability of dropping an element, in [0, 1).</param>
    /// <param name="seed">The seed of the mask's random source; null draws one at random.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is outside [0, 1).</exception>
    public Dropout(double rate, int? seed = null) : base(seed) => Rate = CheckRate(rate, nameof(rate));

    /// <inheritdoc/>
    public override string TypeName => "dropout";

    /// <summary>The probability of dropping an element.</summary>
    public double Rate { get; }

    /// <summary>The mask of the last training pass (0 or <c>1/(1 − rate)</c> per element), or null.</summary>
    public Tensor<T>? Mask => LastNoise;

    private protected override bool IsOff => Rate == 0;

    private protected override void Draw(Span<T> noise, ResumableRandom rng) => DrawDropMask(noise, rng, Rate);

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => RateConfig(Rate);
}
