using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Nearest-neighbour upsampling of <c>[batch, steps, channels]</c> or <c>[batch, height, width, channels]</c> (channels
/// last): y[b, i, j, c] = x[b, ⌊i / sh⌋, ⌊j / sw⌋, c], each row repeated sh times and each column sw times
/// (<see cref="UpSampling1D{T}"/>, <see cref="UpSampling2D{T}"/>). Backward sums the copies:
/// dx[b, i, j, c] = Σ_{di &lt; sh, dj &lt; sw} dy[b, i·sh + di, j·sw + dj, c].
/// </summary>
public abstract class UpSamplingLayer<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wY = new(), _wDx = new();
    private readonly int _rank, _sh, _sw;
    private Tensor<T>? _lastY;
    private TensorShape _lastInputShape;

    private protected UpSamplingLayer(int rank, int sh, int sw)
    {
        _rank = rank;
        (_sh, _sw) = (sh, sw);
    }

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng) => ComputeOutputShape(inputShape);

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        if (inputShape.Rank != _rank + 2)
            throw new ArgumentException(_rank == 1
                ? $"{Name} takes [batch, steps, channels]; got {inputShape}."
                : $"{Name} takes [batch, height, width, channels]; got {inputShape}.", "input");
        long h = (long)inputShape[1] * _sh, w = _rank == 2 ? (long)inputShape[2] * _sw : 1;
        if (h * w * inputShape[0] * inputShape[-1] > Array.MaxLength)
            throw new ArgumentException($"{Name}: upsampling {inputShape} by ({_sh}, {_sw}) gives more elements than a tensor can hold.", "input");
        return _rank == 1 ? new TensorShape(inputShape[0], (int)h, inputShape[2])
            : new TensorShape(inputShape[0], (int)h, (int)w, inputShape[3]);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        var y = _wY.Get(ComputeOutputShape(input.Shape));
        var s = input.Shape;
        int batch = s[0], h = s[1], w = _rank == 2 ? s[2] : 1, c = s[-1], sw = _rank == 2 ? _sw : 1;
        int rowIn = w * c, rowOut = w * sw * c;
        var x = input.ReadOnlySpan;
        var ys = y.Span;
        for (int r = 0; r < batch * h; r++)
        {
            // Build one output row from input row r, then repeat it sh − 1 times.
            var first = ys.Slice(r * _sh * rowOut, rowOut);
            for (int j = 0; j < w; j++)
            {
                var v = x.Slice(r * rowIn + j * c, c);
                for (int dj = 0; dj < sw; dj++) v.CopyTo(first.Slice((j * sw + dj) * c, c));
            }
            for (int di = 1; di < _sh; di++) first.CopyTo(ys.Slice((r * _sh + di) * rowOut, rowOut));
        }
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
        int batch = s[0], h = s[1], w = _rank == 2 ? s[2] : 1, c = s[-1], sw = _rank == 2 ? _sw : 1;
        int rowIn = w * c, rowOut = w * sw * c;
        var dy = dOutput.ReadOnlySpan;
        var dxs = dx.Span;
        for (int r = 0; r < batch * h; r++)
            for (int di = 0; di < _sh; di++)
            {
                var dyRow = dy.Slice((r * _sh + di) * rowOut, rowOut);
                for (int j = 0; j < w; j++)
                {
                    var d = dxs.Slice(r * rowIn + j * c, c);
                    for (int dj = 0; dj < sw; dj++) TensorPrimitives.Add(d, dyRow.Slice((j * sw + dj) * c, c), d);
                }
            }
        return dx;
    }
}

/// <summary>
/// Keras' <c>UpSampling1D</c>: repeats each step <see cref="Size"/> times, y[b, t, c] = x[b, ⌊t / size⌋, c],
/// <c>[batch, steps, channels]</c> to <c>[batch, steps · size, channels]</c>. Backward sums the copies.
/// </summary>
public sealed class UpSampling1D<T> : UpSamplingLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer.</summary>
    /// <param name="size">The repetitions of each step; positive (Keras' default: 2).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is not positive.</exception>
    public UpSampling1D(int size = 2) : base(1, size, 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        Size = size;
    }

    /// <inheritdoc/>
    public override string TypeName => "up_sampling1d";

    /// <summary>The repetitions of each step.</summary>
    public int Size { get; }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["size"] = Size.ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// Keras' <c>UpSampling2D</c> with its default <c>interpolation="nearest"</c> (channels last): repeats each row
/// <c>Size.Height</c> times and each column <c>Size.Width</c> times, y[b, i, j, c] = x[b, ⌊i / sh⌋, ⌊j / sw⌋, c],
/// <c>[batch, height, width, channels]</c> to <c>[batch, height · sh, width · sw, channels]</c>. Backward sums the copies.
/// </summary>
/// <remarks>Keras' <c>interpolation="bilinear"</c> is not provided. PyTorch's <c>nn.Upsample(scale_factor, mode="nearest")</c>
/// is the same operation on channels-first input.</remarks>
public sealed class UpSampling2D<T> : UpSamplingLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer with the same factor for rows and columns (Keras' default: (2, 2)).</summary>
    /// <param name="size">The repetitions of each row and of each column; positive.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is not positive.</exception>
    public UpSampling2D(int size = 2) : this((size, size)) { }

    /// <summary>Creates the layer.</summary>
    /// <param name="size">The repetitions of each row and of each column; positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">A factor is not positive.</exception>
    public UpSampling2D((int Height, int Width) size) : base(2, size.Height, size.Width)
    {
        if (size.Height < 1 || size.Width < 1)
            throw new ArgumentOutOfRangeException(nameof(size), $"size must be positive; got ({size.Height}, {size.Width}).");
        Size = size;
    }

    /// <inheritdoc/>
    public override string TypeName => "up_sampling2d";

    /// <summary>The repetitions of each row and of each column.</summary>
    public (int Height, int Width) Size { get; }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["size"] = string.Create(CultureInfo.InvariantCulture, $"{Size.Height},{Size.Width}"),
    };
}
