using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// The random intensity layers (<see cref="RandomContrast{T}"/>, <see cref="RandomBrightness{T}"/>) on
/// <c>[batch, height, width, channels]</c> (channels last): while training, one draw per image gives a pre-clip value
/// v = g(x) for the image (see each layer), and y = clip(v, low, high) with (low, high) = <see cref="ValueRange"/>; at
/// inference the identity. Backward passes dy through the clip where low ≤ v ≤ high (0 where it clipped), then through
/// g's adjoint.
/// </summary>
/// <remarks>
/// The draws come from the layer's seeded generator, one <c>NextDouble()</c> per image in batch order (Keras draws a
/// <c>[batch, 1, 1, 1]</c> tensor), as the other <see cref="NoiseLayer{T}"/> layers draw: a model's <c>Seed</c> reseeds
/// it, <c>Sequential.Save</c> saves its state, and <see cref="NoiseLayer{T}.FreezeMask"/> or
/// <see cref="NoiseLayer{T}.Reseed"/> holds them fixed for gradient checks. Keras also takes unbatched
/// <c>[height, width, channels]</c> input; these layers take batches only.
/// </remarks>
public abstract class RandomIntensityLayer<T> : RandomImageLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wV = new();
    private readonly T _low, _high;

    private protected RandomIntensityLayer((double Low, double High) valueRange, int? seed) : base(seed)
    {
        var (a, b) = valueRange;
        if (!double.IsFinite(a) || !double.IsFinite(b))
            throw new ArgumentOutOfRangeException(nameof(valueRange), $"value_range must be two finite numbers; got ({a}, {b}).");
        ValueRange = a <= b ? (a, b) : (b, a);
        (_low, _high) = (T.CreateChecked(ValueRange.Low), T.CreateChecked(ValueRange.High));
    }

    /// <summary>The (low, high) range the outputs are clipped to (sorted, as Keras sorts it).</summary>
    public (double Low, double High) ValueRange { get; }

    /// <summary>The draws of the last training pass, <c>[batch, 1]</c> (see each layer for what they are), or null.</summary>
    public Tensor<T>? Draws => LastNoise;

    /// <summary>Writes the pre-clip values v of the images <paramref name="x"/> (<c>[batch, height·width, channels]</c>
    /// flattened) with the draws <paramref name="draws"/> (one per image) into <paramref name="v"/>.</summary>
    private protected abstract void PreClip(ReadOnlySpan<T> x, ReadOnlySpan<T> draws, Span<T> v, int batch, int pixels, int channels);

    /// <summary>Overwrites <paramref name="g"/> (dL/dv) with dL/dx, the adjoint of <see cref="PreClip"/>.</summary>
    private protected abstract void PreClipBackward(Span<T> g, ReadOnlySpan<T> draws, int batch, int pixels, int channels);

    private protected override void Augment(ReadOnlySpan<T> x, Span<T> y, TensorShape shape, ReadOnlySpan<T> draws)
    {
        var v = _wV.Get(shape);
        PreClip(x, draws, v.Span, shape[0], shape[1] * shape[2], shape[3]);
        TensorPrimitives.Max(v.ReadOnlySpan, _low, y);
        TensorPrimitives.Min(y, _high, y);
    }

    private protected override void AugmentBackward(ReadOnlySpan<T> dy, Span<T> dx, TensorShape shape, ReadOnlySpan<T> draws)
    {
        // Through the clip: dv = dy where low ≤ v ≤ high, else 0 (a NaN v passes nothing).
        var v = _wV.Get(shape).ReadOnlySpan;
        for (int i = 0; i < dx.Length; i++) dx[i] = v[i] >= _low && v[i] <= _high ? dy[i] : T.Zero;
        PreClipBackward(dx, draws, shape[0], shape[1] * shape[2], shape[3]);
    }

    /// <summary>Formats a pair for <see cref="Layer{T}.GetConfig"/> as <c>"a,b"</c>.</summary>
    private protected static string PairString((double A, double B) p) => $"{Str(p.A)},{Str(p.B)}";

    /// <summary>The factor, value range and seed entries of <see cref="Layer{T}.GetConfig"/>.</summary>
    private protected Dictionary<string, string> IntensityConfig((double, double) factor) => new()
    {
        ["factor"] = PairString(factor),
        ["value_range"] = PairString(ValueRange),
        ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
    };
}
