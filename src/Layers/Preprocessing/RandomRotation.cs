using System.Numerics;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>RandomRotation</c> on <c>[batch, height, width, channels]</c>: while training, each image is turned by
/// θ = 2π·u about its centre (cx, cy) = ((W − 1)/2, (H − 1)/2), u uniform in the factor's range (a fraction of a full
/// turn); output pixel (i, j) reads the input at x = cos θ·(j − cx) − sin θ·(i − cy) + cx,
/// y = sin θ·(j − cx) + cos θ·(i − cy) + cy (Keras' transform [cos θ, −sin θ, cx − cx·cos θ + cy·sin θ, sin θ, cos θ,
/// cy − cx·sin θ − cy·cos θ]), with the fill mode outside the image; at inference the identity. Backward is the adjoint
/// of the resampling (see <see cref="RandomAffineLayer{T}"/>).
/// </summary>
/// <remarks>
/// A factor f means [−|f|, |f|]; a pair (lower, upper) is taken as is (sorted); every bound must lie in [−1, 1].
/// <see cref="RandomAffineLayer{T}.Draws"/> holds u per sample. With rows growing downwards, a positive θ turns the
/// image clockwise on screen, as in Keras (whose docs call a positive value a counter-clockwise rotation).
/// </remarks>
public sealed class RandomRotation<T> : RandomAffineLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer with a symmetric factor.</summary>
    /// <param name="factor">The angle's range as a fraction of 2π: [−|f|, |f|]; |f| ≤ 1.</param>
    /// <param name="fillMode"><c>"reflect"</c> (Keras' default), <c>"wrap"</c>, <c>"constant"</c> or <c>"nearest"</c>.</param>
    /// <param name="interpolation"><c>"bilinear"</c> (Keras' default) or <c>"nearest"</c>.</param>
    /// <param name="seed">The seed of the draws; null draws one at random.</param>
    /// <param name="fillValue">The value outside the image for <c>"constant"</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The factor is outside [−1, 1], or the fill value is not finite.</exception>
    /// <exception cref="ArgumentException">An unknown fill mode or interpolation.</exception>
    public RandomRotation(double factor, string fillMode = "reflect", string interpolation = "bilinear", int? seed = null,
        double fillValue = 0)
        : this((-Math.Abs(factor), Math.Abs(factor)), fillMode, interpolation, seed, fillValue)
    {
    }

    /// <summary>Creates the layer with a (lower, upper) range, each bound in [−1, 1] (see the other constructor).</summary>
    public RandomRotation((double Lower, double Upper) factor, string fillMode = "reflect", string interpolation = "bilinear",
        int? seed = null, double fillValue = 0)
        : base(fillMode, interpolation, fillValue, seed) => Factor = CheckFactor(factor, nameof(factor));

    /// <inheritdoc/>
    public override string TypeName => "random_rotation";

    /// <summary>The range of the angle as a fraction of a full turn.</summary>
    public (double Lower, double Upper) Factor { get; }

    private protected override int DrawsPerSample => 1;

    private protected override (double Lower, double Upper) Range(int k) => Factor;

    private protected override void Transform(ReadOnlySpan<T> draws, int height, int width, Span<double> m)
    {
        // Keras: angle = u·360 degrees, then radians.
        double theta = double.CreateChecked(draws[0]) * 360.0 * (Math.PI / 180.0);
        double cos = Math.Cos(theta), sin = Math.Sin(theta), cx = 0.5 * (width - 1), cy = 0.5 * (height - 1);
        m[0] = cos; m[1] = -sin; m[2] = cx - cx * cos + cy * sin;
        m[3] = sin; m[4] = cos; m[5] = cy - cx * sin - cy * cos;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var config = new Dictionary<string, string> { ["factor"] = FactorString(Factor) };
        AddAffineConfig(config);
        return config;
    }
}
