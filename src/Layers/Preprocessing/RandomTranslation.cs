using System.Numerics;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>RandomTranslation</c> on <c>[batch, height, width, channels]</c>: while training, each image is shifted by
/// dy = u_h·H rows and dx = u_w·W columns, u_h uniform in the height factor's range and u_w in the width factor's, so
/// y[b, i, j, c] = x[b, i − dy, j − dx, c] resampled (Keras' transform [1, 0, −dx, 0, 1, −dy]) with the fill mode outside
/// the image; at inference the identity. Backward is the adjoint of the resampling (see <see cref="RandomAffineLayer{T}"/>).
/// </summary>
/// <remarks>
/// A factor f means [−|f|, |f|]; a pair (lower, upper) is taken as is (sorted); every bound must lie in [−1, 1], as in
/// Keras. <see cref="RandomAffineLayer{T}.Draws"/> holds (u_h, u_w) per sample, drawn as Keras draws them: every
/// sample's u_h, then every sample's u_w.
/// </remarks>
public sealed class RandomTranslation<T> : RandomAffineLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer with symmetric factors.</summary>
    /// <param name="heightFactor">The vertical shift's range as a fraction of the height: [−|f|, |f|]; |f| ≤ 1.</param>
    /// <param name="widthFactor">The horizontal shift's range as a fraction of the width: [−|f|, |f|]; |f| ≤ 1.</param>
    /// <param name="fillMode"><c>"reflect"</c> (Keras' default), <c>"wrap"</c>, <c>"constant"</c> or <c>"nearest"</c>.</param>
    /// <param name="interpolation"><c>"bilinear"</c> (Keras' default) or <c>"nearest"</c>.</param>
    /// <param name="seed">The seed of the draws; null draws one at random.</param>
    /// <param name="fillValue">The value outside the image for <c>"constant"</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A factor is outside [−1, 1], or the fill value is not finite.</exception>
    /// <exception cref="ArgumentException">An unknown fill mode or interpolation.</exception>
    public RandomTranslation(double heightFactor, double widthFactor, string fillMode = "reflect", string interpolation = "bilinear",
        int? seed = null, double fillValue = 0)
        : this((-Math.Abs(heightFactor), Math.Abs(heightFactor)), (-Math.Abs(widthFactor), Math.Abs(widthFactor)), fillMode,
            interpolation, seed, fillValue)
    {
    }

    /// <summary>Creates the layer with (lower, upper) ranges, each bound in [−1, 1] (see the other constructor).</summary>
    public RandomTranslation((double Lower, double Upper) heightFactor, (double Lower, double Upper) widthFactor,
        string fillMode = "reflect", string interpolation = "bilinear", int? seed = null, double fillValue = 0)
        : base(fillMode, interpolation, fillValue, seed)
    {
        HeightFactor = CheckFactor(heightFactor, nameof(heightFactor));
        WidthFactor = CheckFactor(widthFactor, nameof(widthFactor));
    }

    /// <inheritdoc/>
    public override string TypeName => "random_translation";

    /// <summary>The range of the vertical shift as a fraction of the height.</summary>
    public (double Lower, double Upper) HeightFactor { get; }

    /// <summary>The range of the horizontal shift as a fraction of the width.</summary>
    public (double Lower, double Upper) WidthFactor { get; }

    private protected override int DrawsPerSample => 2;

    private protected override (double Lower, double Upper) Range(int k) => k == 0 ? HeightFactor : WidthFactor;

    private protected override void Transform(ReadOnlySpan<T> draws, int height, int width, Span<double> m)
    {
        double dy = double.CreateChecked(draws[0]) * height, dx = double.CreateChecked(draws[1]) * width;
        m[0] = 1; m[1] = 0; m[2] = -dx;
        m[3] = 0; m[4] = 1; m[5] = -dy;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var config = new Dictionary<string, string>
        {
            ["height_factor"] = FactorString(HeightFactor),
            ["width_factor"] = FactorString(WidthFactor),
        };
        AddAffineConfig(config);
        return config;
    }
}
