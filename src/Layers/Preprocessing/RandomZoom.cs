using System.Numerics;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>RandomZoom</c> on <c>[batch, height, width, channels]</c>: while training, each image is scaled about its
/// centre (cx, cy) = ((W − 1)/2, (H − 1)/2) by zh = 1 + u_h vertically and zw = 1 + u_w horizontally (u_w = u_h when no
/// width factor is given): output pixel (i, j) reads the input at x = zw·(j − cx) + cx, y = zh·(i − cy) + cy (Keras'
/// transform [zw, 0, cx·(1 − zw), 0, zh, cy·(1 − zh)]), with the fill mode outside the image; at inference the identity.
/// A positive u zooms out (the picture shrinks), a negative one zooms in. Backward is the adjoint of the resampling
/// (see <see cref="RandomAffineLayer{T}"/>).
/// </summary>
/// <remarks>
/// A factor f means [−|f|, |f|]; a pair (lower, upper) is taken as is (sorted); every bound must lie in [−1, 1].
/// <see cref="RandomAffineLayer{T}.Draws"/> holds (u_h, u_w) per sample (u_w = u_h without a width factor, drawn once),
/// drawn as Keras draws them: every sample's u_h, then every sample's u_w.
/// </remarks>
public sealed class RandomZoom<T> : RandomAffineLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer with symmetric factors.</summary>
    /// <param name="heightFactor">The vertical zoom's range: zh − 1 in [−|f|, |f|]; |f| ≤ 1.</param>
    /// <param name="widthFactor">The horizontal zoom's range, likewise; null (Keras' default) zooms both axes alike.</param>
    /// <param name="fillMode"><c>"reflect"</c> (Keras' default), <c>"wrap"</c>, <c>"constant"</c> or <c>"nearest"</c>.</param>
    /// <param name="interpolation"><c>"bilinear"</c> (Keras' default) or <c>"nearest"</c>.</param>
    /// <param name="seed">The seed of the draws; null draws one at random.</param>
    /// <param name="fillValue">The value outside the image for <c>"constant"</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A factor is outside [−1, 1], or the fill value is not finite.</exception>
    /// <exception cref="ArgumentException">An unknown fill mode or interpolation.</exception>
    public RandomZoom(double heightFactor, double? widthFactor = null, string fillMode = "reflect", string interpolation = "bilinear",
        int? seed = null, double fillValue = 0)
        : this((-Math.Abs(heightFactor), Math.Abs(heightFactor)),
            widthFactor is { } wf ? (-Math.Abs(wf), Math.Abs(wf)) : null, fillMode, interpolation, seed, fillValue)
    {
    }

    /// <summary>Creates the layer with (lower, upper) ranges, each bound in [−1, 1] (see the other constructor).</summary>
    public RandomZoom((double Lower, double Upper) heightFactor, (double Lower, double Upper)? widthFactor = null,
        string fillMode = "reflect", string interpolation = "bilinear", int? seed = null, double fillValue = 0)
        : base(fillMode, interpolation, fillValue, seed)
    {
        HeightFactor = CheckFactor(heightFactor, nameof(heightFactor));
        WidthFactor = widthFactor is { } w ? CheckFactor(w, nameof(widthFactor)) : null;
    }

    /// <inheritdoc/>
    public override string TypeName => "random_zoom";

    /// <summary>The range of zh − 1.</summary>
    public (double Lower, double Upper) HeightFactor { get; }

    /// <summary>The range of zw − 1, or null when the width zooms as the height does.</summary>
    public (double Lower, double Upper)? WidthFactor { get; }

    private protected override int DrawsPerSample => WidthFactor is null ? 1 : 2;

    private protected override (double Lower, double Upper) Range(int k) => k == 0 ? HeightFactor : WidthFactor!.Value;

    private protected override void Transform(ReadOnlySpan<T> draws, int height, int width, Span<double> m)
    {
        double zh = 1 + double.CreateChecked(draws[0]), zw = 1 + double.CreateChecked(draws[^1]);
        m[0] = zw; m[1] = 0; m[2] = 0.5 * (width - 1) * (1 - zw);
        m[3] = 0; m[4] = zh; m[5] = 0.5 * (height - 1) * (1 - zh);
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var config = new Dictionary<string, string> { ["height_factor"] = FactorString(HeightFactor) };
        if (WidthFactor is { } w) config["width_factor"] = FactorString(w);
        AddAffineConfig(config);
        return config;
    }
}
