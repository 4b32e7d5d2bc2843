using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>What <see cref="SpatialDropout1D{T}"/> and <see cref="SpatialDropout2D{T}"/> share: one keep-or-drop draw per
/// sample and channel (0 or <c>1/(1 − rate)</c>), applied to every position of that channel while training.</summary>
public abstract class SpatialDropout<T> : NoiseLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Checks and sets the rate.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is outside [0, 1).</exception>
    private protected SpatialDropout(double rate, int? seed) : base(seed) => Rate = CheckRate(rate, nameof(rate));

    /// <summary>The probability of dropping a channel.</summary>
    public double Rate { get; }

    /// <summary>The mask of the last training pass, <c>[batch, channels]</c> of 0 or <c>1/(1 − rate)</c>, or null.</summary>
    public Tensor<T>? Mask => LastNoise;

    private protected override bool IsOff => Rate == 0;

    private protected override bool PerChannel => true;

    private protected override void Draw(Span<T> noise, ResumableRandom rng) => DrawDropMask(noise, rng, Rate);

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => RateConfig(Rate);
}

/// <summary>
/// Keras' <c>SpatialDropout1D</c>: dropout of whole channels. While training, y[b, t, c] = x[b, t, c] · m[b, c] with
/// m[b, c] = 0 with probability <see cref="SpatialDropout{T}.Rate"/> and <c>1/(1 − rate)</c> otherwise, one draw per sample and channel
/// shared by every step; at inference the identity. Input <c>[batch, steps, channels]</c>. Backward: dx = dy ⊙ m.
/// </summary>
/// <remarks>Useful after Conv1D, where neighbouring steps are strongly correlated and element-wise dropout barely
/// regularises. Seeding and mask freezing work as in <see cref="Dropout{T}"/>.</remarks>
public sealed class SpatialDropout1D<T> : SpatialDropout<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer.</summary>
    /// <param name="rate">The probability of dropping a channel, in [0, 1).</param>
    /// <param name="seed">The seed of the mask's random source; null draws one at random.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is outside [0, 1).</exception>
    public SpatialDropout1D(double rate, int? seed = null) : base(rate, seed) { }

    /// <inheritdoc/>
    public override string TypeName => "spatial_dropout1d";

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape) => inputShape.Rank == 3 ? inputShape
        : throw new ArgumentException($"{Name} takes [batch, steps, channels]; got {inputShape}.", "input");
}

/// <summary>
/// Keras' <c>SpatialDropout2D</c> (channels last): dropout of whole feature maps. While training,
/// y[b, i, j, c] = x[b, i, j, c] · m[b, c] with m[b, c] = 0 with probability <see cref="SpatialDropout{T}.Rate"/> and <c>1/(1 − rate)</c>
/// otherwise, one draw per sample and channel shared by every pixel; at inference the identity. Input
/// <c>[batch, height, width, channels]</c>. Backward: dx = dy ⊙ m.
/// </summary>
/// <remarks>PyTorch's <c>nn.Dropout2d</c> is the same operation on channels-first input. Seeding and mask freezing work
/// as in <see cref="Dropout{T}"/>.</remarks>
public sealed class SpatialDropout2D<T> : SpatialDropout<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer.</summary>
    /// <param name="rate">The probability of dropping a channel, in [0, 1).</param>
    /// <param name="seed">The seed of the mask's random source; null draws one at random.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is outside [0, 1).</exception>
    public SpatialDropout2D(double rate, int? seed = null) : base(rate, seed) { }

    /// <inheritdoc/>
    public override string TypeName => "spatial_dropout2d";

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape) => inputShape.Rank == 4 ? inputShape
        : throw new ArgumentException($"{Name} takes [batch, height, width, channels]; got {inputShape}.", "input");
}
