using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>CenterCrop</c> on <c>[batch, H, W, channels]</c> (channels last): keeps the central
/// <see cref="Height"/> × <see cref="Width"/> window, y[b, i, j, c] = x[b, top + i, left + j, c] with
/// top = ⌊(H − height) / 2⌋ and left = ⌊(W − width) / 2⌋, in training and inference alike. Backward scatters dy into
/// zeros: dx[b, top + i, left + j, c] = dy[b, i, j, c], and 0 outside the window.
/// </summary>
/// <remarks>
/// When a difference is odd, the floor puts the extra row (column) at the bottom (right), as Keras'
/// <c>int((H − height) / 2)</c> does; torchvision's <c>center_crop</c> rounds <c>(H − height) / 2</c> instead (half to
/// even in Python 3), which for H − height = 3 starts at 2 rather than 1. Where the input is smaller than the target
/// on either axis Keras resizes the image (<c>smart_resize</c>, an interpolation) rather than crops; this layer rejects
/// that case with an <see cref="ArgumentException"/>, so it only ever crops. Keras also takes unbatched
/// <c>[H, W, channels]</c> input; this layer takes batches only.
/// </remarks>
public sealed class CenterCrop<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wY = new(), _wDx = new();
    private Tensor<T>? _lastY;
    private TensorShape _lastInputShape;

    /// <summary>Creates the layer.</summary>
    /// <param name="height">The height of the output; positive.</param>
    /// <param name="width">The width of the output; positive.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="height"/> or <paramref name="width"/> is not positive.</exception>
    public CenterCrop(int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        (Height, Width) = (height, width);
    }

    /// <inheritdoc/>
    public override string TypeName => "center_crop";

    /// <summary>The height of the output.</summary>
    public int Height { get; }

    /// <summary>The width of the output.</summary>
    public int Width { get; }

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng) => ComputeOutputShape(inputShape);

    /// <inheritdoc/>
    /// <remarks>Any height and width at least the target's fit; the channels must match the built layer's.</remarks>
    protected override void CheckFeatures(TensorShape inputShape, string paramName)
    {
        ComputeOutputShape(inputShape);
        base.CheckFeatures(inputShape, paramName);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The shape is not 4-D, or it is smaller than (height, width) on either axis.</exception>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        if (inputShape.Rank != 4)
            throw new ArgumentException($"{Name} takes [batch, height, width, channels]; got {inputShape}.", "input");
        if (inputShape[1] < Height || inputShape[2] < Width)
            throw new ArgumentException(
                $"{Name} crops to ({Height}, {Width}) but got {inputShape}, smaller on an axis; Keras would resize there, " +
                "this layer only crops (resize the images first).", "input");
        return new TensorShape(inputShape[0], Height, Width, inputShape[3]);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        var s = input.Shape;
        var y = _wY.Get(ComputeOutputShape(s));
        int batch = s[0], h = s[1], w = s[2], c = s[3], top = (h - Height) / 2, left = (w - Width) / 2, row = Width * c;
        var x = input.ReadOnlySpan;
        var ys = y.Span;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < Height; i++)
                x.Slice(((b * h + top + i) * w + left) * c, row).CopyTo(ys.Slice((b * Height + i) * row, row));
        _lastInputShape = s;
        _lastY = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        var s = _lastInputShape;
        var dx = _wDx.Get(s, clear: true);
        int batch = s[0], h = s[1], w = s[2], c = s[3], top = (h - Height) / 2, left = (w - Width) / 2, row = Width * c;
        var dy = dOutput.ReadOnlySpan;
        var dxs = dx.Span;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < Height; i++)
                dy.Slice((b * Height + i) * row, row).CopyTo(dxs.Slice(((b * h + top + i) * w + left) * c, row));
        return dx;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["height"] = Height.ToString(CultureInfo.InvariantCulture),
        ["width"] = Width.ToString(CultureInfo.InvariantCulture),
    };
}
