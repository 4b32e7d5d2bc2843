using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>GaussianNoise</c>: while training, y = x + n with n ~ N(0, <see cref="Stddev"/>²) drawn per element;
/// at inference the identity. Any input shape. Backward: dx = dy.
/// </summary>
/// <remarks>A regulariser (and a simple data augmentation for real-valued inputs). Seeding and noise freezing work
/// as in <see cref="Dropout{T}"/>. Keras 3 also rejects a stddev above 1; this layer takes any finite stddev ≥ 0.</remarks>
public sealed class GaussianNoise<T> : NoiseLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer.</summary>
    /// <param name="stddev">The standard deviation of the noise, finite and ≥ 0.</param>
    /// <param name="seed">The seed of the noise's random source; null draws one at random.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="stddev"/> is negative or not finite.</exception>
    public GaussianNoise(double stddev, int? seed = null) : base(seed)
    {
        if (!(stddev >= 0 && double.IsFinite(stddev)))
            throw new ArgumentOutOfRangeException(nameof(stddev), $"stddev must be finite and >= 0; got {stddev}.");
        Stddev = stddev;
    }

    /// <inheritdoc/>
    public override string TypeName => "gaussian_noise";

    /// <summary>The standard deviation of the noise.</summary>
    public double Stddev { get; }

    /// <summary>The noise added in the last training pass, or null.</summary>
    public Tensor<T>? Noise => LastNoise;

    private protected override bool IsOff => Stddev == 0;

    private protected override bool Additive => true;

    private protected override void Draw(Span<T> noise, ResumableRandom rng)
    {
        for (int i = 0; i < noise.Length; i++) noise[i] = T.CreateChecked(Stddev * rng.NextGaussian());
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["stddev"] = Str(Stddev),
        ["seed"] = Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// Keras' <c>GaussianDropout</c>: while training, y = x · n with n ~ N(1, rate/(1 − rate)) drawn per element
/// (standard deviation √(rate/(1 − rate)), the variance of inverted dropout's mask at the same rate); at inference
/// the identity. Any input shape. Backward: dx = dy ⊙ n.
/// </summary>
/// <remarks>Seeding and noise freezing work as in <see cref="Dropout{T}"/>.</remarks>
public sealed class GaussianDropout<T> : NoiseLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer.</summary>
    /// <param name="rate">The equivalent drop probability, in [0, 1).</param>
    /// <param name="seed">The seed of the noise's random source; null draws one at random.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is outside [0, 1).</exception>
    public GaussianDropout(double rate, int? seed = null) : base(seed) => Rate = CheckRate(rate, nameof(rate));

    /// <inheritdoc/>
    public override string TypeName => "gaussian_dropout";

    /// <summary>The equivalent drop probability.</summary>
    public double Rate { get; }

    /// <summary>The multiplicative noise of the last training pass, or null.</summary>
    public Tensor<T>? Noise => LastNoise;

    private protected override bool IsOff => Rate == 0;

    private protected override void Draw(Span<T> noise, ResumableRandom rng)
    {
        double sd = Math.Sqrt(Rate / (1 - Rate));
        for (int i = 0; i < noise.Length; i++) noise[i] = T.CreateChecked(1 + sd * rng.NextGaussian());
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => RateConfig(Rate);
}
