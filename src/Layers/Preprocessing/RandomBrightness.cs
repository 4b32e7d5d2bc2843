using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>RandomBrightness</c> on <c>[batch, height, width, channels]</c> (channels last): while training, each image b
/// draws δ_b = u_b·(high − low) with u_b uniform in [lower, upper), and y = clip(x + δ_b, low, high) for (low, high) =
/// <see cref="RandomIntensityLayer{T}.ValueRange"/>; at inference the identity. Backward: dx = dy where the clip passed,
/// else 0.
/// </summary>
/// <remarks>
/// A factor f means [−|f|, |f|]; a pair (lower, upper) is taken as is (sorted); each bound lies in [−1, 1], Keras' bounds
/// (−1 turns an image black, 1 white). <see cref="RandomIntensityLayer{T}.Draws"/> holds δ_b per image, already scaled to
/// the value range. torchvision's <c>adjust_brightness</c> multiplies by a factor instead of adding.
/// </remarks>
public sealed class RandomBrightness<T> : RandomIntensityLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer with u_b in [−|factor|, |factor|).</summary>
    /// <param name="factor">|factor| ≤ 1.</param>
    /// <param name="valueRange">The (low, high) range of the images: δ is scaled by high − low and the output clipped to
    /// it; Keras' default (0, 255).</param>
    /// <param name="seed">The seed of the draws; null draws one at random.</param>
    /// <exception cref="ArgumentOutOfRangeException">The factor is outside [−1, 1], or the value range is not finite.</exception>
    public RandomBrightness(double factor, (double Low, double High)? valueRange = null, int? seed = null)
        : this((-Math.Abs(factor), Math.Abs(factor)), valueRange, seed)
    {
    }

    /// <summary>Creates the layer with u_b in [lower, upper); each bound in [−1, 1] (see the other constructor).</summary>
    public RandomBrightness((double Lower, double Upper) factor, (double Low, double High)? valueRange = null, int? seed = null)
        : base(valueRange ?? (0, 255), seed)
    {
        var (a, b) = factor;
        if (!(a >= -1 && a <= 1 && b >= -1 && b <= 1))
            throw new ArgumentOutOfRangeException(nameof(factor),
                $"factor must be a number or a (lower, upper) pair in [-1, 1]; got ({a}, {b}).");
        Factor = a <= b ? (a, b) : (b, a);
    }

    /// <inheritdoc/>
    public override string TypeName => "random_brightness";

    /// <summary>(lower, upper): the range of u, the brightness change as a fraction of the value range.</summary>
    public (double Lower, double Upper) Factor { get; }

    private protected override void Draw(Span<T> noise, ResumableRandom rng)
    {
        var (lower, upper) = Factor;
        double scale = ValueRange.High - ValueRange.Low;
        for (int i = 0; i < noise.Length; i++) noise[i] = T.CreateChecked((lower + (upper - lower) * rng.NextDouble()) * scale);
    }

    private protected override void PreClip(ReadOnlySpan<T> x, ReadOnlySpan<T> draws, Span<T> v, int batch, int pixels, int channels)
    {
        int image = pixels * channels;
        for (int b = 0; b < batch; b++)
            TensorPrimitives.Add(x.Slice(b * image, image), draws[b], v.Slice(b * image, image));
    }

    private protected override void PreClipBackward(Span<T> g, ReadOnlySpan<T> draws, int batch, int pixels, int channels)
    {
        // dv/dx = 1: the clipped gradient is the answer.
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => IntensityConfig(Factor);
}
