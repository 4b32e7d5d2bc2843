using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>MaxPooling2D</c> on channels-last images <c>[batch, height, width, channels]</c>: the maximum of each
/// <see cref="PoolSize"/> window, moved by <see cref="Strides"/> (default: the pool size), <c>valid</c> or
/// <c>same</c> padding (padded cells never win). The gradient goes to the winning cell of each window (the first
/// one on ties, as TensorFlow); NaN wins, so it propagates.
/// </summary>
public sealed class MaxPooling2D<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wY = new(), _wDx = new();
    private int[] _argmax = [];
    private Tensor<T>? _input, _lastY;

    /// <summary>Creates the layer.</summary>
    /// <param name="poolSize">(ph, pw); positive. Default (2, 2).</param>
    /// <param name="strides">(sh, sw); positive. Default: the pool size.</param>
    /// <param name="padding"><c>valid</c> or <c>same</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <exception cref="ArgumentException">The padding is unknown.</exception>
    public MaxPooling2D((int Height, int Width)? poolSize = null, (int Height, int Width)? strides = null, string padding = "valid")
    {
        var ps = poolSize ?? (2, 2);
        var st = strides ?? ps;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ps.Height, nameof(poolSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ps.Width, nameof(poolSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(st.Height, nameof(strides));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(st.Width, nameof(strides));
        Padding = padding is "valid" or "same" ? padding : throw new ArgumentException($"padding must be 'valid' or 'same'; got '{padding}'.", nameof(padding));
        PoolSize = ps;
        Strides = st;
    }

    /// <inheritdoc/>
    public override string TypeName => "max_pooling2d";

    /// <summary>(ph, pw).</summary>
    public (int Height, int Width) PoolSize { get; }

    /// <summary>(sh, sw).</summary>
    public (int Height, int Width) Strides { get; }

    /// <summary><c>valid</c> or <c>same</c>.</summary>
    public string Padding { get; }

    private (int Out, int PadBefore) Geometry(int size, int pool, int stride)
    {
        if (Padding == "same")
        {
            int o = (size + stride - 1) / stride;
            return (o, Math.Max(0, (o - 1) * stride + pool - size) / 2);
        }
        return (size >= pool ? (size - pool) / stride + 1 : 0, 0);
    }

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng) => ComputeOutputShape(inputShape);

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        if (inputShape.Rank != 4)
            throw new ArgumentException($"{Name} takes channels-last images [batch, height, width, channels]; got {inputShape}.", "input");
        var (ho, _) = Geometry(inputShape[1], PoolSize.Height, Strides.Height);
        var (wo, _) = Geometry(inputShape[2], PoolSize.Width, Strides.Width);
        if (ho <= 0 || wo <= 0)
            throw new ArgumentException($"{Name}: a {PoolSize.Height}×{PoolSize.Width} pool with '{Padding}' padding leaves no output for {inputShape}.", "input");
        return new TensorShape(inputShape[0], ho, wo, inputShape[3]);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        var outShape = ComputeOutputShape(input.Shape);
        int b = input.Shape[0], h = input.Shape[1], w = input.Shape[2], c = input.Shape[3], ho = outShape[1], wo = outShape[2];
        var (_, padTop) = Geometry(h, PoolSize.Height, Strides.Height);
        var (_, padLeft) = Geometry(w, PoolSize.Width, Strides.Width);
        var y = _wY.Get(outShape);
        var ys = y.Span;
        var x = input.ReadOnlySpan;
        if (_argmax.Length < y.Length) _argmax = new int[y.Length];
        for (int n = 0, o = 0; n < b; n++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++, o += c)
                    for (int ch = 0; ch < c; ch++)
                    {
                        int best = -1;
                        T max = T.NegativeInfinity;
                        for (int i = 0; i < PoolSize.Height; i++)
                        {
                            int iy = oy * Strides.Height + i - padTop;
                            if ((uint)iy >= (uint)h) continue;
                            for (int j = 0; j < PoolSize.Width; j++)
                            {
                                int ix = ox * Strides.Width + j - padLeft;
                                if ((uint)ix >= (uint)w) continue;
                                int at = ((n * h + iy) * w + ix) * c + ch;
                                T v = x[at];
                                if (best < 0 || v > max || (T.IsNaN(v) && !T.IsNaN(max))) { max = v; best = at; }
                            }
                        }
                        ys[o + ch] = max;
                        _argmax[o + ch] = best;
                    }
        _input = input;
        _lastY = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        var dx = _wDx.Get(_input!.Shape);
        var dxs = dx.Span;
        dxs.Clear();
        var dy = dOutput.ReadOnlySpan;
        for (int o = 0; o < dy.Length; o++) dxs[_argmax[o]] += dy[o];
        return dx;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["pool_size"] = $"{PoolSize.Height},{PoolSize.Width}",
        ["strides"] = $"{Strides.Height},{Strides.Width}",
        ["padding"] = Padding,
    };
}
