using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// The training-only random layers (<see cref="Dropout{T}"/>, <see cref="SpatialDropout1D{T}"/>,
/// <see cref="SpatialDropout2D{T}"/>, <see cref="GaussianDropout{T}"/>, <see cref="GaussianNoise{T}"/>, and
/// the random image layers (<see cref="RandomFlip{T}"/>, the affine <see cref="RandomAffineLayer{T}"/> ones,
/// <see cref="RandomContrast{T}"/>, <see cref="RandomBrightness{T}"/>, <see cref="RandomCrop{T}"/>), which override the
/// passes but draw, seed and resume as these do): while training,
/// y = x ⊙ n (multiplicative noise) or y = x + n (additive noise), with n drawn afresh each pass from a seeded source;
/// at inference, or when the noise is switched off (rate or stddev 0), the layer is the identity. Backward:
/// dx = dy ⊙ n, or dx = dy for additive noise.
/// </summary>
/// <remarks>
/// The noise has the input's shape, or <c>[batch, channels]</c> (<see cref="PerChannel"/>): one value per sample and
/// channel (last axis), shared by every step or pixel, as Keras' <c>noise_shape=(batch, 1, …, 1, channels)</c>. It is
/// drawn from the sequence of <c>new Random(Seed)</c>, so a seeded layer is repeatable; the generator's state is saved
/// with a model's training state (<c>Sequential.Save</c>), so a resumed run draws the noise an uninterrupted one would. For gradient
/// checks the noise can be held fixed, either with <see cref="FreezeMask"/> (reuse the last noise while the shape is
/// unchanged) or by calling <see cref="Reseed"/> before every forward pass (e.g. from
/// <c>GradientCheck.Options.BeforeForward</c>).
/// </remarks>
public abstract class NoiseLayer<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wNoise = new(), _wOut = new(), _wDx = new();
    private Tensor<T>? _noise, _lastOutput;
    private bool _lastWasIdentity, _hasNoise;
    private ResumableRandom _rng;

    private protected NoiseLayer(int? seed)
    {
        Seed = seed ?? Random.Shared.Next();
        _rng = new ResumableRandom(Seed);
    }

    /// <summary>The seed the noise's random source started from (the last one given to <see cref="Reseed"/>).</summary>
    public int Seed { get; private set; }

    /// <summary>When true, training passes reuse the last noise as long as the input shape is unchanged.</summary>
    public bool FreezeMask { get; set; }

    /// <summary>The noise of the last training pass (input-shaped, or <c>[batch, channels]</c>), or null.</summary>
    private protected Tensor<T>? LastNoise => _hasNoise ? _noise : null;

    /// <summary>Whether the noise is added (dx = dy) rather than multiplied.</summary>
    private protected virtual bool Additive => false;

    /// <summary>Whether the noise is one value per sample and channel rather than one per element.</summary>
    private protected virtual bool PerChannel => false;

    /// <summary>Whether training passes are the identity too (rate or stddev 0).</summary>
    private protected abstract bool IsOff { get; }

    /// <summary>Fills <paramref name="noise"/> with fresh values from <paramref name="rng"/>, in order.</summary>
    private protected abstract void Draw(Span<T> noise, ResumableRandom rng);

    /// <summary>Restarts the noise's random source from <paramref name="seed"/>, so the next draws repeat.</summary>
    public void Reseed(int seed)
    {
        Seed = seed;
        _rng = new ResumableRandom(seed);
    }

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng) => ComputeOutputShape(inputShape);

    internal override void AddGenerators(List<ResumableRandom> generators) => generators.Add(_rng);

    /// <inheritdoc/>
    protected override void CheckFeatures(TensorShape inputShape, string paramName) => ComputeOutputShape(inputShape);

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape) => inputShape;

    /// <inheritdoc/>
    /// <remarks>At inference (or with the noise off) the input itself is returned.</remarks>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        if (!training || IsOff)
        {
            _lastWasIdentity = true;
            _lastOutput = input;
            return input;
        }
        _lastWasIdentity = false;
        NextNoise(PerChannel ? new TensorShape(input.Shape[0], input.Shape[-1]) : input.Shape);
        var y = _wOut.Get(input.Shape);
        Apply(input.ReadOnlySpan, y.Span, input.Shape, Additive);
        _lastOutput = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastOutput, dOutput, Name);
        var dx = _wDx.Get(dOutput.Shape);
        if (_lastWasIdentity || Additive) dOutput.ReadOnlySpan.CopyTo(dx.Span);
        else Apply(dOutput.ReadOnlySpan, dx.Span, dOutput.Shape, additive: false);
        return dx;
    }

    /// <summary>The noise of this training pass, shaped <paramref name="shape"/>: freshly drawn by <see cref="Draw"/>, or
    /// the last one when <see cref="FreezeMask"/> is set and the shape is unchanged.</summary>
    private protected Tensor<T> NextNoise(TensorShape shape)
    {
        if (!(FreezeMask && _hasNoise && _noise!.Shape == shape))
        {
            _noise = _wNoise.Get(shape);
            Draw(_noise.Span, _rng);
            _hasNoise = true;
        }
        return _noise!;
    }

    // destination = source ⊙ n or source + n, with n broadcast over the steps/pixels of each sample when per channel.
    private void Apply(ReadOnlySpan<T> source, Span<T> destination, TensorShape shape, bool additive)
    {
        var n = _noise!.ReadOnlySpan;
        if (!PerChannel)
        {
            if (additive) TensorPrimitives.Add(source, n, destination);
            else TensorPrimitives.Multiply(source, n, destination);
            return;
        }
        int b = shape[0], c = shape[-1], perSample = source.Length / b;
        for (int s = 0; s < b; s++)
        {
            var ns = n.Slice(s * c, c);
            for (int o = s * perSample; o < (s + 1) * perSample; o += c)
            {
                if (additive) TensorPrimitives.Add(source.Slice(o, c), ns, destination.Slice(o, c));
                else TensorPrimitives.Multiply(source.Slice(o, c), ns, destination.Slice(o, c));
            }
        }
    }

    /// <summary>Checks a drop rate in [0, 1).</summary>
    private protected static double CheckRate(double rate, string paramName) => rate >= 0 && rate < 1 ? rate
        : throw new ArgumentOutOfRangeException(paramName, $"rate must be in [0, 1); got {rate}.");

    /// <summary>Draws inverted-dropout keep values: 0 with probability <paramref name="rate"/>, else 1/(1 − rate).</summary>
    private protected static void DrawDropMask(Span<T> mask, ResumableRandom rng, double rate)
    {
        T scale = T.CreateChecked(1 / (1 - rate));
        for (int i = 0; i < mask.Length; i++) mask[i] = rng.NextDouble() < rate ? T.Zero : scale;
    }

    /// <summary>The rate and seed entries of <see cref="Layer{T}.GetConfig"/>.</summary>
    private protected Dictionary<string, string> RateConfig(double rate) => new()
    {
        ["rate"] = Str(rate),
        ["seed"] = Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
