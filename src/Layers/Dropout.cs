using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Inverted dropout, Keras' <c>Dropout</c>: while training, each element is zeroed with probability
/// <see cref="Rate"/> and the survivors are scaled by <c>1/(1 − rate)</c>, so inference needs no rescaling;
/// at inference the layer is the identity. Any input shape.
/// </summary>
/// <remarks>
/// The mask is drawn from a <see cref="Random"/> seeded by <see cref="Seed"/>, so a seeded layer is
/// repeatable. For gradient checks the mask can be held fixed, either with <see cref="FreezeMask"/> (reuse the
/// last mask while the shape is unchanged) or by calling <see cref="Reseed"/> before every forward pass
/// (e.g. from <c>GradientCheck.Options.BeforeForward</c>).
/// </remarks>
public sealed class Dropout<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wMask = new(), _wOut = new(), _wDx = new();
    private Tensor<T>? _mask, _lastOutput;
    private bool _lastWasIdentity, _hasMask;
    private Random _rng;

    /// <summary>Creates the layer.</summary>
    /// <param name="rate">The probability of dropping an element, in [0, 1).</param>
    /// <param name="seed">The seed of the mask's random source; null draws one at random.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is outside [0, 1).</exception>
    public Dropout(double rate, int? seed = null)
    {
        if (!(rate >= 0 && rate < 1))
            throw new ArgumentOutOfRangeException(nameof(rate), $"rate must be in [0, 1); got {rate}.");
        Rate = rate;
        Seed = seed ?? Random.Shared.Next();
        _rng = new Random(Seed);
    }

    /// <inheritdoc/>
    public override string TypeName => "dropout";

    /// <summary>The probability of dropping an element.</summary>
    public double Rate { get; }

    /// <summary>The seed the mask's random source started from (the last one given to <see cref="Reseed"/>).</summary>
    public int Seed { get; private set; }

    /// <summary>When true, training passes reuse the last mask as long as the input shape is unchanged.</summary>
    public bool FreezeMask { get; set; }

    /// <summary>The mask of the last training pass (0 or <c>1/(1 − rate)</c> per element), or null.</summary>
    public Tensor<T>? Mask => _hasMask ? _mask : null;

    /// <summary>Restarts the mask's random source from <paramref name="seed"/>, so the next masks repeat.</summary>
    public void Reseed(int seed)
    {
        Seed = seed;
        _rng = new Random(seed);
    }

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng) { }

    /// <inheritdoc/>
    protected override void CheckFeatures(TensorShape inputShape, string paramName) { }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape) => inputShape;

    /// <inheritdoc/>
    /// <remarks>At inference (or with rate 0) the input itself is returned.</remarks>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        if (!training || Rate == 0)
        {
            _lastWasIdentity = true;
            _lastOutput = input;
            return input;
        }
        _lastWasIdentity = false;
        if (!(FreezeMask && _hasMask && _mask!.Shape == input.Shape))
        {
            _mask = _wMask.Get(input.Shape);
            var m = _mask.Span;
            T scale = T.CreateChecked(1 / (1 - Rate));
            for (int i = 0; i < m.Length; i++) m[i] = _rng.NextDouble() < Rate ? T.Zero : scale;
            _hasMask = true;
        }
        var y = _wOut.Get(input.Shape);
        TensorPrimitives.Multiply(input.ReadOnlySpan, _mask!.ReadOnlySpan, y.Span);
        _lastOutput = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastOutput, dOutput, Name);
        var dx = _wDx.Get(dOutput.Shape);
        if (_lastWasIdentity) dOutput.ReadOnlySpan.CopyTo(dx.Span);
        else TensorPrimitives.Multiply(dOutput.ReadOnlySpan, _mask!.ReadOnlySpan, dx.Span);
        return dx;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["rate"] = Str(Rate),
        ["seed"] = Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
