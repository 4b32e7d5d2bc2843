using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Adds or removes a border along the steps of <c>[batch, steps, channels]</c> or the rows and columns of
/// <c>[batch, height, width, channels]</c> (channels last): y[b, i, j, c] = x[b, i − top, j − left, c], zero where
/// that falls outside x. With non-negative offsets this is zero padding (<see cref="ZeroPadding1D{T}"/>,
/// <see cref="ZeroPadding2D{T}"/>), with negative ones cropping (<see cref="Cropping1D{T}"/>, <see cref="Cropping2D{T}"/>).
/// Each is the other's backward: dx[b, i, j, c] = dy[b, i + top, j + left, c].
/// </summary>
public abstract class BorderLayer<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wY = new(), _wDx = new();
    private readonly int _rank, _top, _bottom, _left, _right;
    private Tensor<T>? _lastY;
    private TensorShape _lastInputShape;

    /// <summary>Creates the layer from signed border sizes (positive adds rows/columns, negative removes them).</summary>
    /// <param name="rank">1 for <c>[batch, steps, channels]</c> (only top and bottom, the steps, are used), 2 for images.</param>
    /// <param name="top">Rows (steps) added before, or removed when negative.</param>
    /// <param name="bottom">Rows (steps) added after, or removed when negative.</param>
    /// <param name="left">Columns added before, or removed when negative.</param>
    /// <param name="right">Columns added after, or removed when negative.</param>
    private protected BorderLayer(int rank, int top, int bottom, int left, int right)
    {
        _rank = rank;
        (_top, _bottom, _left, _right) = (top, bottom, left, right);
    }

    /// <summary>Checks that every border size is non-negative.</summary>
    private protected static void CheckSizes(string paramName, params ReadOnlySpan<int> sizes)
    {
        foreach (int s in sizes)
            if (s < 0)
                throw new ArgumentOutOfRangeException(paramName, $"{paramName} must be non-negative; got ({string.Join(", ", sizes.ToArray())}).");
    }

    /// <summary>The layer's option for messages and config, e.g. <c>((1, 1), (2, 0))</c>.</summary>
    private protected abstract string Describe();

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng) => ComputeOutputShape(inputShape);

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        if (inputShape.Rank != _rank + 2)
            throw new ArgumentException(_rank == 1
                ? $"{Name} takes [batch, steps, channels]; got {inputShape}."
                : $"{Name} takes [batch, height, width, channels]; got {inputShape}.", "input");
        int h = inputShape[1] + _top + _bottom;
        if (h < 1 || (_rank == 2 && inputShape[2] + _left + _right < 1))
            throw new ArgumentException($"{Name}: cropping {Describe()} leaves nothing of an input shaped {inputShape}.", "input");
        return _rank == 1 ? new TensorShape(inputShape[0], h, inputShape[2])
            : new TensorShape(inputShape[0], h, inputShape[2] + _left + _right, inputShape[3]);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        var y = _wY.Get(ComputeOutputShape(input.Shape));
        Shift(input.ReadOnlySpan, input.Shape, y.Span, y.Shape, _top, _left);
        _lastInputShape = input.Shape;
        _lastY = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        var dx = _wDx.Get(_lastInputShape);
        Shift(dOutput.ReadOnlySpan, dOutput.Shape, dx.Span, dx.Shape, -_top, -_left);
        return dx;
    }

    /// <summary>dst[b, i, j, :] = src[b, i − top, j − left, :], zero outside src; rank-3 shapes are read as width 1.</summary>
    private static void Shift(ReadOnlySpan<T> src, TensorShape srcShape, Span<T> dst, TensorShape dstShape, int top, int left)
    {
        bool image = srcShape.Rank == 4;
        int batch = srcShape[0], h = srcShape[1], w = image ? srcShape[2] : 1, c = srcShape[-1];
        int h2 = dstShape[1], w2 = image ? dstShape[2] : 1;
        if (!image) left = 0;
        // The output columns that come from the input: j2 in [j0, j1).
        int j0 = Math.Max(0, left), j1 = Math.Min(w2, w + left);
        int row = w2 * c;
        for (int b = 0; b < batch; b++)
            for (int i2 = 0; i2 < h2; i2++)
            {
                var d = dst.Slice((b * h2 + i2) * row, row);
                int i = i2 - top;
                if (i < 0 || i >= h || j1 <= j0)
                {
                    d.Clear();
                    continue;
                }
                d[..(j0 * c)].Clear();
                src.Slice(((b * h + i) * w + j0 - left) * c, (j1 - j0) * c).CopyTo(d.Slice(j0 * c));
                d[(j1 * c)..].Clear();
            }
    }

    /// <summary>Formats sizes as a config value, <c>"a,b"</c> or <c>"a,b,c,d"</c>.</summary>
    private protected static string Join(params ReadOnlySpan<int> sizes)
    {
        var parts = new string[sizes.Length];
        for (int i = 0; i < sizes.Length; i++) parts[i] = sizes[i].ToString(CultureInfo.InvariantCulture);
        return string.Join(",", parts);
    }
}

/// <summary>
/// Keras' <c>ZeroPadding1D</c>: adds <c>left</c> zero steps before and <c>right</c> after,
/// <c>[batch, steps, channels]</c> to <c>[batch, left + steps + right, channels]</c>. Backward crops the gradient.
/// </summary>
public sealed class ZeroPadding1D<T> : BorderLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer with the same padding on both ends (Keras' default: 1).</summary>
    /// <param name="padding">The zero steps added at each end; non-negative.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="padding"/> is negative.</exception>
    public ZeroPadding1D(int padding = 1) : this((padding, padding)) { }

    /// <summary>Creates the layer.</summary>
    /// <param name="padding">The zero steps added at the start and at the end; non-negative.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative.</exception>
    public ZeroPadding1D((int Left, int Right) padding) : base(1, padding.Left, padding.Right, 0, 0)
    {
        CheckSizes(nameof(padding), padding.Left, padding.Right);
        Padding = padding;
    }

    /// <inheritdoc/>
    public override string TypeName => "zero_padding1d";

    /// <summary>The zero steps added at the start and at the end.</summary>
    public (int Left, int Right) Padding { get; }

    private protected override string Describe() => $"({Padding.Left}, {Padding.Right})";

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string> { ["padding"] = Join(Padding.Left, Padding.Right) };
}

/// <summary>
/// Keras' <c>ZeroPadding2D</c> (channels last): adds zero rows above and below and zero columns left and right,
/// <c>[batch, height, width, channels]</c> to <c>[batch, top + height + bottom, left + width + right, channels]</c>.
/// Backward crops the gradient.
/// </summary>
public sealed class ZeroPadding2D<T> : BorderLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer with the same padding on all four sides (Keras' default: 1).</summary>
    /// <param name="padding">The zero rows and columns added on each side; non-negative.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="padding"/> is negative.</exception>
    public ZeroPadding2D(int padding = 1) : this(((padding, padding), (padding, padding))) { }

    /// <summary>Creates the layer with symmetric padding: <c>Height</c> rows above and below, <c>Width</c> columns left and right.</summary>
    /// <param name="padding">The rows and columns added on each side; non-negative.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative.</exception>
    public ZeroPadding2D((int Height, int Width) padding) : this(((padding.Height, padding.Height), (padding.Width, padding.Width))) { }

    /// <summary>Creates the layer.</summary>
    /// <param name="padding">((top, bottom), (left, right)), as in Keras; non-negative.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative.</exception>
    public ZeroPadding2D(((int Top, int Bottom) Height, (int Left, int Right) Width) padding)
        : base(2, padding.Height.Top, padding.Height.Bottom, padding.Width.Left, padding.Width.Right)
    {
        CheckSizes(nameof(padding), padding.Height.Top, padding.Height.Bottom, padding.Width.Left, padding.Width.Right);
        Padding = padding;
    }

    /// <inheritdoc/>
    public override string TypeName => "zero_padding2d";

    /// <summary>The rows added ((top, bottom)) and the columns added ((left, right)).</summary>
    public ((int Top, int Bottom) Height, (int Left, int Right) Width) Padding { get; }

    private protected override string Describe() => $"(({Padding.Height.Top}, {Padding.Height.Bottom}), ({Padding.Width.Left}, {Padding.Width.Right}))";

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["padding"] = Join(Padding.Height.Top, Padding.Height.Bottom, Padding.Width.Left, Padding.Width.Right),
    };
}

/// <summary>
/// Keras' <c>Cropping1D</c>: removes <c>left</c> steps from the start and <c>right</c> from the end,
/// <c>[batch, steps, channels]</c> to <c>[batch, steps − left − right, channels]</c>. Backward pads the gradient with zeros.
/// </summary>
public sealed class Cropping1D<T> : BorderLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer with the same cropping at both ends (Keras' default: 1).</summary>
    /// <param name="cropping">The steps removed at each end; non-negative.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cropping"/> is negative.</exception>
    public Cropping1D(int cropping = 1) : this((cropping, cropping)) { }

    /// <summary>Creates the layer.</summary>
    /// <param name="cropping">The steps removed at the start and at the end; non-negative.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative.</exception>
    public Cropping1D((int Left, int Right) cropping) : base(1, -cropping.Left, -cropping.Right, 0, 0)
    {
        CheckSizes(nameof(cropping), cropping.Left, cropping.Right);
        Cropping = cropping;
    }

    /// <inheritdoc/>
    public override string TypeName => "cropping1d";

    /// <summary>The steps removed at the start and at the end.</summary>
    public (int Left, int Right) Cropping { get; }

    private protected override string Describe() => $"({Cropping.Left}, {Cropping.Right})";

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string> { ["cropping"] = Join(Cropping.Left, Cropping.Right) };
}

/// <summary>
/// Keras' <c>Cropping2D</c> (channels last): removes rows from the top and bottom and columns from the left and right,
/// <c>[batch, height, width, channels]</c> to <c>[batch, height − top − bottom, width − left − right, channels]</c>.
/// Backward pads the gradient with zeros.
/// </summary>
public sealed class Cropping2D<T> : BorderLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer with the same cropping on all four sides (Keras' default: 0, the identity).</summary>
    /// <param name="cropping">The rows and columns removed on each side; non-negative.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cropping"/> is negative.</exception>
    public Cropping2D(int cropping = 0) : this(((cropping, cropping), (cropping, cropping))) { }

    /// <summary>Creates the layer with symmetric cropping: <c>Height</c> rows at top and bottom, <c>Width</c> columns left and right.</summary>
    /// <param name="cropping">The rows and columns removed on each side; non-negative.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative.</exception>
    public Cropping2D((int Height, int Width) cropping) : this(((cropping.Height, cropping.Height), (cropping.Width, cropping.Width))) { }

    /// <summary>Creates the layer.</summary>
    /// <param name="cropping">((top, bottom), (left, right)), as in Keras; non-negative.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative.</exception>
    public Cropping2D(((int Top, int Bottom) Height, (int Left, int Right) Width) cropping)
        : base(2, -cropping.Height.Top, -cropping.Height.Bottom, -cropping.Width.Left, -cropping.Width.Right)
    {
        CheckSizes(nameof(cropping), cropping.Height.Top, cropping.Height.Bottom, cropping.Width.Left, cropping.Width.Right);
        Cropping = cropping;
    }

    /// <inheritdoc/>
    public override string TypeName => "cropping2d";

    /// <summary>The rows removed ((top, bottom)) and the columns removed ((left, right)).</summary>
    public ((int Top, int Bottom) Height, (int Left, int Right) Width) Cropping { get; }

    private protected override string Describe() => $"(({Cropping.Height.Top}, {Cropping.Height.Bottom}), ({Cropping.Width.Left}, {Cropping.Width.Right}))";

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["cropping"] = Join(Cropping.Height.Top, Cropping.Height.Bottom, Cropping.Width.Left, Cropping.Width.Right),
    };
}
