using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>RandomCrop</c> on <c>[batch, H, W, channels]</c> (channels last) to <see cref="Height"/> × <see cref="Width"/>:
/// while training, when H &gt; height and W &gt; width, one window per batch at top = ⌊u_h·(H − height + 1)⌋,
/// left = ⌊u_w·(W − width + 1)⌋ (u uniform in [0, 1)), y[b, i, j, c] = x[b, top + i, left + j, c], and backward scatters
/// dy into the window (0 elsewhere). Otherwise (at inference, or an image not larger than the target on both axes) the
/// largest centred window with the target's aspect ratio is resized bilinearly to the target, as
/// <see cref="Resizing{T}"/> with <c>cropToAspectRatio</c> does, with its adjoint as backward.
/// </summary>
/// <remarks>
/// <para>Keras crops every image of a batch at the same place ("The layer will crop all the images in the same batch to
/// the same cropping location"), drawing u_h then u_w once per call; this layer does the same, from its seeded generator
/// as the other <see cref="NoiseLayer{T}"/> layers draw (model <c>Seed</c>, saved generator state,
/// <see cref="NoiseLayer{T}.FreezeMask"/>, <see cref="NoiseLayer{T}.Reseed"/>). <see cref="Draws"/> holds (u_h, u_w).
/// torchvision's <c>RandomCrop</c> draws a window per call too, but pads rather than resizes a small image.</para>
/// <para>At inference this follows Keras' docstring (and Keras 2 and Keras 3.0): the centred window of
/// ch = max(min(H, ⌊W·height / width⌋), 1) rows and cw = max(min(W, ⌊H·width / height⌋), 1) columns, at
/// (⌊(H − ch)/2⌋, ⌊(W − cw)/2⌋), resized to the target (an exact crop when it has the target's size). Later Keras 3
/// releases return the input unchanged at inference (keras-team/keras#21868, an open bug: the output shape then
/// disagrees with <c>compute_output_shape</c>), and slice a target-sized window from that corner before resizing;
/// neither is followed. Keras also takes unbatched <c>[H, W, channels]</c> input; this layer takes batches only.</para>
/// </remarks>
public sealed class RandomCrop<T> : NoiseLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wY = new(), _wDx = new();
    private readonly Resizing<T> _resize;
    private Tensor<T>? _lastOutput;
    private TensorShape _lastInputShape;
    private bool _lastWasResize;
    private int _top, _left;

    /// <summary>Creates the layer.</summary>
    /// <param name="height">The height of the output; positive.</param>
    /// <param name="width">The width of the output; positive.</param>
    /// <param name="seed">The seed of the windows' random source; null draws one at random.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="height"/> or <paramref name="width"/> is not positive.</exception>
    public RandomCrop(int height, int width, int? seed = null) : base(seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        (Height, Width) = (height, width);
        _resize = new Resizing<T>(height, width, "bilinear", cropToAspectRatio: true);
    }

    /// <inheritdoc/>
    public override string TypeName => "random_crop";

    /// <summary>The height of the output.</summary>
    public int Height { get; }

    /// <summary>The width of the output.</summary>
    public int Width { get; }

    /// <summary>The draws of the last random crop, <c>[1, 2]</c>: (u_h, u_w), or null.</summary>
    public Tensor<T>? Draws => LastNoise;

    private protected override bool IsOff => false;

    private protected override void Draw(Span<T> noise, ResumableRandom rng)
    {
        for (int i = 0; i < noise.Length; i++) noise[i] = T.CreateChecked(rng.NextDouble());
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The shape is not 4-D.</exception>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        if (inputShape.Rank != 4)
            throw new ArgumentException($"{Name} takes [batch, height, width, channels]; got {inputShape}.", "input");
        return new TensorShape(inputShape[0], Height, Width, inputShape[3]);
    }

    // ⌊u·n⌋, kept below n should u have rounded up to 1 in T.
    private static int Offset(T u, int n) => Math.Min((int)Math.Floor(double.CreateChecked(u) * n), n - 1);

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        var s = input.Shape;
        int batch = s[0], h = s[1], w = s[2], c = s[3];
        _lastInputShape = s;
        if (!(training && h > Height && w > Width))
        {
            _lastWasResize = true;
            return _lastOutput = _resize.Forward(input, training: false);
        }
        _lastWasResize = false;
        var u = NextNoise(new TensorShape(1, 2)).ReadOnlySpan;
        (_top, _left) = (Offset(u[0], h - Height + 1), Offset(u[1], w - Width + 1));
        var y = _wY.Get(ComputeOutputShape(s));
        int row = Width * c;
        var x = input.ReadOnlySpan;
        var ys = y.Span;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < Height; i++)
                x.Slice(((b * h + _top + i) * w + _left) * c, row).CopyTo(ys.Slice((b * Height + i) * row, row));
        return _lastOutput = y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastOutput, dOutput, Name);
        if (_lastWasResize) return _resize.Backward(dOutput);
        var s = _lastInputShape;
        var dx = _wDx.Get(s, clear: true);
        int batch = s[0], h = s[1], w = s[2], c = s[3], row = Width * c;
        var dy = dOutput.ReadOnlySpan;
        var dxs = dx.Span;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < Height; i++)
                dy.Slice((b * Height + i) * row, row).CopyTo(dxs.Slice(((b * h + _top + i) * w + _left) * c, row));
        return dx;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["height"] = Height.ToString(CultureInfo.InvariantCulture),
        ["width"] = Width.ToString(CultureInfo.InvariantCulture),
        ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
    };
}
