using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// The random affine layers (<see cref="RandomTranslation{T}"/>, <see cref="RandomRotation{T}"/>,
/// <see cref="RandomZoom{T}"/>) on <c>[batch, height, width, channels]</c> (channels last): while training, each image gets
/// its own transform, drawn afresh each pass, and y[b] = <see cref="AffineResampler"/> of x[b] at that transform (Keras'
/// inverse mapping: output pixel (i, j) reads the input at x = a0·j + a1·i + a2, y = b0·j + b1·i + b2); at inference the
/// identity. Backward is the adjoint of the last resampling: dx[b] scatters dy[b] with the same interpolation weights
/// (no gradient to the fill value).
/// </summary>
/// <remarks>
/// The random numbers come from the layer's seeded generator as the other <see cref="NoiseLayer{T}"/> layers draw theirs
/// (a model's <c>Seed</c> reseeds it, <c>Sequential.Save</c> saves its state, <see cref="NoiseLayer{T}.FreezeMask"/> or
/// <see cref="NoiseLayer{T}.Reseed"/> holds them fixed for gradient checks). Each is uniform in a factor's
/// [lower, upper): lower + (upper − lower)·u, in the order Keras draws them: the first factor for every sample of the
/// batch, then the second. The draws are kept in T, as Keras draws them in the compute dtype; the transform is then
/// computed from them in double. Keras also takes unbatched <c>[height, width, channels]</c> input; these layers take
/// batches only.
/// </remarks>
public abstract class RandomAffineLayer<T> : RandomImageLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly AffineResampler.FillMode _fill;
    private readonly bool _bilinear;
    private readonly T _fillValue;
    private double[] _matrices = [];

    private protected RandomAffineLayer(string fillMode, string interpolation, double fillValue, int? seed) : base(seed)
    {
        _fill = AffineResampler.ParseFillMode(fillMode, nameof(fillMode));
        _bilinear = AffineResampler.ParseBilinear(interpolation, nameof(interpolation));
        if (!double.IsFinite(fillValue))
            throw new ArgumentOutOfRangeException(nameof(fillValue), $"fill_value must be finite; got {fillValue}.");
        (FillMode, Interpolation, FillValue, _fillValue) = (fillMode, interpolation, fillValue, T.CreateChecked(fillValue));
    }

    /// <summary>How points outside the image are filled: <c>"reflect"</c> (Keras' default), <c>"wrap"</c>,
    /// <c>"constant"</c> or <c>"nearest"</c>.</summary>
    public string FillMode { get; }

    /// <summary><c>"bilinear"</c> (Keras' default) or <c>"nearest"</c>.</summary>
    public string Interpolation { get; }

    /// <summary>The value read outside the image when <see cref="FillMode"/> is <c>"constant"</c>.</summary>
    public double FillValue { get; }

    /// <summary>The draws of the last training pass, <c>[batch, k]</c>: per sample, each factor's uniform draw (see the
    /// layer's summary for what they mean); or null.</summary>
    public Tensor<T>? Draws => LastNoise;

    /// <summary>How many factors are drawn per sample.</summary>
    private protected abstract override int DrawsPerSample { get; }

    /// <summary>The [lower, upper) range of draw <paramref name="k"/>.</summary>
    private protected abstract (double Lower, double Upper) Range(int k);

    /// <summary>Writes Keras' transform [a0, a1, a2, b0, b1, b2] for one sample's draws into <paramref name="m"/>.</summary>
    private protected abstract void Transform(ReadOnlySpan<T> draws, int height, int width, Span<double> m);

    private protected override void Draw(Span<T> noise, ResumableRandom rng)
    {
        int k = DrawsPerSample, batch = noise.Length / k;
        for (int f = 0; f < k; f++)
        {
            var (lower, upper) = Range(f);
            for (int b = 0; b < batch; b++) noise[b * k + f] = T.CreateChecked(lower + (upper - lower) * rng.NextDouble());
        }
    }

    private protected override void Augment(ReadOnlySpan<T> x, Span<T> y, TensorShape shape, ReadOnlySpan<T> draws)
    {
        int batch = shape[0], h = shape[1], w = shape[2], c = shape[3], k = DrawsPerSample, image = h * w * c;
        if (_matrices.Length < 6 * batch) _matrices = new double[6 * batch];
        for (int b = 0; b < batch; b++)
        {
            var m = _matrices.AsSpan(6 * b, 6);
            Transform(draws.Slice(b * k, k), h, w, m);
            AffineResampler.Forward(x.Slice(b * image, image), y.Slice(b * image, image), h, w, c, m, _bilinear, _fill, _fillValue);
        }
    }

    // Scatters dy[b] with the weights of the transforms the last forward pass computed from these draws.
    private protected override void AugmentBackward(ReadOnlySpan<T> dy, Span<T> dx, TensorShape shape, ReadOnlySpan<T> draws)
    {
        dx.Clear();
        int batch = shape[0], h = shape[1], w = shape[2], c = shape[3], image = h * w * c;
        for (int b = 0; b < batch; b++)
            AffineResampler.Backward(dy.Slice(b * image, image), dx.Slice(b * image, image), h, w, c,
                _matrices.AsSpan(6 * b, 6), _bilinear, _fill);
    }

    /// <summary>Checks a Keras factor: a number f gives [−|f|, |f|], a pair (lower, upper) is sorted; every bound must lie
    /// in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    private protected static (double Lower, double Upper) CheckFactor((double, double) factor, string paramName,
        double min = -1, double max = 1)
    {
        var (a, b) = factor;
        if (!(a >= min && a <= max && b >= min && b <= max))
            throw new ArgumentOutOfRangeException(paramName,
                $"{paramName} must be a number or a (lower, upper) pair in [{min}, {max}]; got ({a}, {b}).");
        return a <= b ? (a, b) : (b, a);
    }

    /// <summary>Formats a factor for <see cref="Layer{T}.GetConfig"/> as <c>"lower,upper"</c>.</summary>
    private protected static string FactorString((double Lower, double Upper) f) => $"{Str(f.Lower)},{Str(f.Upper)}";

    /// <summary>The fill, interpolation and seed entries of <see cref="Layer{T}.GetConfig"/>.</summary>
    private protected void AddAffineConfig(Dictionary<string, string> config)
    {
        config["fill_mode"] = FillMode;
        config["interpolation"] = Interpolation;
        config["fill_value"] = Str(FillValue);
        config["seed"] = Seed.ToString(CultureInfo.InvariantCulture);
    }
}
