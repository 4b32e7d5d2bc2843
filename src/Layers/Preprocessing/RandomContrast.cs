using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>RandomContrast</c> on <c>[batch, height, width, channels]</c> (channels last): while training, each image b
/// draws a contrast factor f_b uniform in [1 − lower, 1 + upper), and per channel c, with m[b, c] the mean of x[b, ·, ·, c]
/// over height and width, y = clip((x − m)·f_b + m, low, high) for (low, high) = <see cref="RandomIntensityLayer{T}.ValueRange"/>;
/// at inference the identity. Backward, with g = dy where the clip passed (else 0):
/// dx[b, p, c] = f_b·g[b, p, c] + (1 − f_b)·mean_q g[b, q, c] (the mean depends on every pixel of its channel).
/// </summary>
/// <remarks>
/// <para>A factor f means lower = upper = f, i.e. f_b in [1 − f, 1 + f], as Keras' docstring (and Keras 2) state;
/// Keras 3's code maps a lone number through its generic <c>_set_factor</c> to lower = max(−f, 0) = 0, i.e. [1, 1 + f],
/// which contradicts its own docstring; pass the pair (0, f) for that range. A pair (lower, upper) is taken as is
/// (sorted); each bound lies in [0, 1], Keras' bounds. The mean is computed in double.</para>
/// <para><see cref="RandomIntensityLayer{T}.Draws"/> holds f_b per image. torchvision's <c>adjust_contrast</c> blends
/// with the mean of the grayscale image instead (one mean for all channels) and takes no value range.</para>
/// </remarks>
public sealed class RandomContrast<T> : RandomIntensityLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private double[] _sums = [];

    /// <summary>Creates the layer with f_b in [1 − factor, 1 + factor).</summary>
    /// <param name="factor">In [0, 1].</param>
    /// <param name="valueRange">The (low, high) range of the images, which the output is clipped to; Keras' default (0, 255).</param>
    /// <param name="seed">The seed of the draws; null draws one at random.</param>
    /// <exception cref="ArgumentOutOfRangeException">The factor is outside [0, 1], or the value range is not finite.</exception>
    public RandomContrast(double factor, (double Low, double High)? valueRange = null, int? seed = null)
        : this((factor, factor), valueRange, seed)
    {
    }

    /// <summary>Creates the layer with f_b in [1 − lower, 1 + upper); each bound in [0, 1] (see the other constructor).</summary>
    public RandomContrast((double Lower, double Upper) factor, (double Low, double High)? valueRange = null, int? seed = null)
        : base(valueRange ?? (0, 255), seed)
    {
        var (a, b) = factor;
        if (!(a >= 0 && a <= 1 && b >= 0 && b <= 1))
            throw new ArgumentOutOfRangeException(nameof(factor),
                $"factor must be a number or a (lower, upper) pair in [0, 1]; got ({a}, {b}).");
        Factor = a <= b ? (a, b) : (b, a);
    }

    /// <inheritdoc/>
    public override string TypeName => "random_contrast";

    /// <summary>(lower, upper): the contrast factor is drawn from [1 − lower, 1 + upper).</summary>
    public (double Lower, double Upper) Factor { get; }

    private protected override void Draw(Span<T> noise, ResumableRandom rng)
    {
        double min = 1 - Factor.Lower, span = Factor.Upper + Factor.Lower;
        for (int i = 0; i < noise.Length; i++) noise[i] = T.CreateChecked(min + span * rng.NextDouble());
    }

    // Per image and channel: the sum over the pixels of s, in _sums[b·channels + c].
    private void ChannelSums(ReadOnlySpan<T> s, int batch, int pixels, int channels)
    {
        if (_sums.Length < batch * channels) _sums = new double[batch * channels];
        var sums = _sums.AsSpan(0, batch * channels);
        sums.Clear();
        for (int b = 0; b < batch; b++)
        {
            var acc = sums.Slice(b * channels, channels);
            var image = s.Slice(b * pixels * channels, pixels * channels);
            for (int p = 0; p < image.Length; p += channels)
                for (int c = 0; c < channels; c++) acc[c] += double.CreateChecked(image[p + c]);
        }
    }

    private protected override void PreClip(ReadOnlySpan<T> x, ReadOnlySpan<T> draws, Span<T> v, int batch, int pixels, int channels)
    {
        ChannelSums(x, batch, pixels, channels);
        // v = f·x + (1 − f)·m.
        for (int b = 0; b < batch; b++)
        {
            T f = draws[b];
            int o = b * pixels * channels;
            for (int c = 0; c < channels; c++)
            {
                T shift = (T.One - f) * T.CreateChecked(_sums[b * channels + c] / pixels);
                for (int p = c; p < pixels * channels; p += channels) v[o + p] = f * x[o + p] + shift;
            }
        }
    }

    private protected override void PreClipBackward(Span<T> g, ReadOnlySpan<T> draws, int batch, int pixels, int channels)
    {
        ChannelSums(g, batch, pixels, channels);
        // dx = f·g + (1 − f)·mean(g), per channel.
        for (int b = 0; b < batch; b++)
        {
            T f = draws[b];
            int o = b * pixels * channels;
            for (int c = 0; c < channels; c++)
            {
                T shift = (T.One - f) * T.CreateChecked(_sums[b * channels + c] / pixels);
                for (int p = c; p < pixels * channels; p += channels) g[o + p] = f * g[o + p] + shift;
            }
        }
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => IntensityConfig(Factor);
}
