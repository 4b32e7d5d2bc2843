using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>RandomFlip</c> on <c>[batch, height, width, channels]</c> (channels last): while training, each sample is
/// flipped with probability ½: y[b, i, j, c] = x[b, i′, j′, c] with j′ = W − 1 − j when flipped horizontally (left to
/// right) and i′ = H − 1 − i when flipped vertically (top to bottom), else unchanged; at inference the identity.
/// Backward applies the same flips to dy (a flip is its own inverse): dx[b, i′, j′, c] = dy[b, i, j, c].
/// </summary>
/// <remarks>
/// <para>Keras' rule, followed here: one uniform u per sample, and the sample is flipped when u ≤ 0.5. In
/// <c>"horizontal_and_vertical"</c> mode that one draw flips <em>both</em> axes (Keras applies the same flag to each), so a
/// sample is either left alone or turned by 180°; mirror-only images (one axis) do not occur in that mode. Composing
/// torchvision's <c>RandomHorizontalFlip</c> and <c>RandomVerticalFlip</c> draws per axis instead, giving four outcomes.</para>
/// <para>The draws come from the layer's own seeded generator, one <c>NextDouble()</c> per sample in batch order, as the
/// other <see cref="NoiseLayer{T}"/> layers draw: a model's <c>Seed</c> reseeds it, and <c>Sequential.Save</c> saves its
/// state so that a resumed run flips what an uninterrupted run would. <see cref="NoiseLayer{T}.FreezeMask"/> holds the
/// flips fixed (for gradient checks). Keras also takes unbatched <c>[height, width, channels]</c> input; this layer takes
/// batches only.</para>
/// </remarks>
public sealed class RandomFlip<T> : RandomImageLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Keras' mode name for left-right flips.</summary>
    public const string Horizontal = "horizontal";

    /// <summary>Keras' mode name for top-bottom flips.</summary>
    public const string Vertical = "vertical";

    /// <summary>Keras' mode name for flipping both axes (Keras' default).</summary>
    public const string HorizontalAndVertical = "horizontal_and_vertical";

    private readonly bool _horizontal, _vertical;

    /// <summary>Creates the layer.</summary>
    /// <param name="mode"><c>"horizontal"</c> (left-right), <c>"vertical"</c> (top-bottom) or <c>"horizontal_and_vertical"</c>
    /// (Keras' default).</param>
    /// <param name="seed">The seed of the flips' random source; null draws one at random.</param>
    /// <exception cref="ArgumentException"><paramref name="mode"/> is none of the three names.</exception>
    public RandomFlip(string mode = HorizontalAndVertical, int? seed = null) : base(seed)
    {
        ArgumentNullException.ThrowIfNull(mode);
        (_horizontal, _vertical) = mode switch
        {
            Horizontal => (true, false),
            Vertical => (false, true),
            HorizontalAndVertical => (true, true),
            _ => throw new ArgumentException(
                $"mode must be '{Horizontal}', '{Vertical}' or '{HorizontalAndVertical}'; got '{mode}'.", nameof(mode)),
        };
        Mode = mode;
    }

    /// <inheritdoc/>
    public override string TypeName => "random_flip";

    /// <summary>The flip mode: <c>"horizontal"</c>, <c>"vertical"</c> or <c>"horizontal_and_vertical"</c>.</summary>
    public string Mode { get; }

    /// <summary>The flags of the last training pass, <c>[batch, 1]</c>: 1 where the sample was flipped, else 0; or null.</summary>
    public Tensor<T>? Flips => LastNoise;

    private protected override void Draw(Span<T> noise, ResumableRandom rng)
    {
        for (int i = 0; i < noise.Length; i++) noise[i] = rng.NextDouble() <= 0.5 ? T.One : T.Zero;
    }

    private protected override void Augment(ReadOnlySpan<T> x, Span<T> y, TensorShape shape, ReadOnlySpan<T> draws) =>
        Flip(x, y, shape, draws);

    // A flip is its own inverse, so the adjoint flips dy the same way.
    private protected override void AugmentBackward(ReadOnlySpan<T> dy, Span<T> dx, TensorShape shape, ReadOnlySpan<T> draws) =>
        Flip(dy, dx, shape, draws);

    // destination[b] = source[b] flipped along the mode's axes where flips[b] is 1, else copied. Rows are moved whole
    // (reversed in order for a vertical flip); a horizontal flip reverses the pixels of each row, channels kept in order.
    private void Flip(ReadOnlySpan<T> source, Span<T> destination, TensorShape shape, ReadOnlySpan<T> flips)
    {
        int batch = shape[0], h = shape[1], w = shape[2], c = shape[3], row = w * c, image = h * row;
        for (int b = 0; b < batch; b++)
        {
            var src = source.Slice(b * image, image);
            var dst = destination.Slice(b * image, image);
            if (flips[b] == T.Zero)
            {
                src.CopyTo(dst);
                continue;
            }
            for (int i = 0; i < h; i++)
            {
                var from = src.Slice((_vertical ? h - 1 - i : i) * row, row);
                var to = dst.Slice(i * row, row);
                if (!_horizontal) from.CopyTo(to);
                else for (int j = 0; j < w; j++) from.Slice((w - 1 - j) * c, c).CopyTo(to.Slice(j * c, c));
            }
        }
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["mode"] = Mode,
        ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
    };
}
