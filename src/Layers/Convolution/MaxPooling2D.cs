using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>MaxPooling2D</c> on channels-last images <c>[batch, height, width, channels]</c>: the maximum of each
/// <see cref="PoolSize"/> window, moved by <see cref="Strides"/> (default: the pool size), <c>valid</c> or
/// <c>same</c> padding (padded cells never win). The gradient goes to the winning cell of each window (the first
/// one on ties, as TensorFlow); a NaN in a window makes its output NaN, which then routes no gradient.
/// </summary>
public sealed class MaxPooling2D<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wY = new(), _wDx = new();
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
        _samples = new SampleLoop((n, backward) =>
        {
            if (backward) BackwardSample(n);
            else ForwardSample(n);
        });
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
        (_b, _h, _w, _c, _ho, _wo) = (input.Shape[0], input.Shape[1], input.Shape[2], input.Shape[3], outShape[1], outShape[2]);
        _padTop = Geometry(_h, PoolSize.Height, Strides.Height).PadBefore;
        _padLeft = Geometry(_w, PoolSize.Width, Strides.Width).PadBefore;
        _input = input;
        _lastY = _wY.Get(outShape);
        _samples.Run(_b, (long)_b * _h * _w * _c, backward: false);
        return _lastY;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        _dOutput = dOutput;
        _dx = _wDx.Get(_input!.Shape);
        _samples.Run(_b, (long)_b * _h * _w * _c, backward: true);
        _dOutput = null;
        return _dx;
    }

    private int _b, _h, _w, _c, _ho, _wo, _padTop, _padLeft;
    private Tensor<T>? _dOutput, _dx;
    private readonly SampleLoop _samples;

    /// <summary>Sample n's maxima. Channels last: each window cell is a contiguous run of C values, so the max is taken
    /// C lanes at a time (TensorPrimitives.Max returns NaN when either side is NaN).</summary>
    private void ForwardSample(int n)
    {
        int h = _h, w = _w, c = _c;
        var x = _input!.ReadOnlySpan;
        var ys = _lastY!.Span;
        for (int oy = 0, o = n * _ho * _wo * c; oy < _ho; oy++)
            for (int ox = 0; ox < _wo; ox++, o += c)
            {
                var dst = ys.Slice(o, c);
                bool first = true;
                for (int i = 0; i < PoolSize.Height; i++)
                {
                    int iy = oy * Strides.Height + i - _padTop;
                    if ((uint)iy >= (uint)h) continue;
                    for (int j = 0; j < PoolSize.Width; j++)
                    {
                        int ix = ox * Strides.Width + j - _padLeft;
                        if ((uint)ix >= (uint)w) continue;
                        var cell = x.Slice(((n * h + iy) * w + ix) * c, c);
                        if (first) { cell.CopyTo(dst); first = false; }
                        else TensorPrimitives.Max(dst, cell, dst);
                    }
                }
            }
    }

    /// <summary>Sample n's input gradient: each output's gradient goes to the first cell of its window (in row order)
    /// that holds the maximum, with a lane mask of the channels still waiting, Vector&lt;T&gt; lanes at a time.</summary>
    private void BackwardSample(int n)
    {
        int h = _h, w = _w, c = _c;
        var x = _input!.ReadOnlySpan;
        var y = _lastY!.ReadOnlySpan;
        var dy = _dOutput!.ReadOnlySpan;
        var dxs = _dx!.Span;
        dxs.Slice(n * h * w * c, h * w * c).Clear();
        int vc = Vector<T>.Count, whole = c - c % vc;
        for (int oy = 0, o = n * _ho * _wo * c; oy < _ho; oy++)
            for (int ox = 0; ox < _wo; ox++, o += c)
            {
                int yTop = oy * Strides.Height - _padTop, xLeft = ox * Strides.Width - _padLeft;
                for (int ch = 0; ch < whole; ch += vc)
                {
                    var ym = new Vector<T>(y.Slice(o + ch, vc));
                    var g = new Vector<T>(dy.Slice(o + ch, vc));
                    var pending = Vector<T>.AllBitsSet;
                    for (int i = 0; i < PoolSize.Height; i++)
                    {
                        int iy = yTop + i;
                        if ((uint)iy >= (uint)h) continue;
                        for (int j = 0; j < PoolSize.Width; j++)
                        {
                            int ix = xLeft + j;
                            if ((uint)ix >= (uint)w) continue;
                            int at = ((n * h + iy) * w + ix) * c + ch;
                            var hit = Vector.Equals(new Vector<T>(x.Slice(at, vc)), ym) & pending;
                            var d = dxs.Slice(at, vc);
                            (new Vector<T>(d) + Vector.ConditionalSelect(hit, g, Vector<T>.Zero)).CopyTo(d);
                            pending = Vector.AndNot(pending, hit);
                        }
                    }
                }
                for (int ch = whole; ch < c; ch++)
                {
                    bool done = false;
                    for (int i = 0; i < PoolSize.Height && !done; i++)
                    {
                        int iy = yTop + i;
                        if ((uint)iy >= (uint)h) continue;
                        for (int j = 0; j < PoolSize.Width && !done; j++)
                        {
                            int ix = xLeft + j;
                            if ((uint)ix >= (uint)w) continue;
                            int at = ((n * h + iy) * w + ix) * c + ch;
                            if (x[at] == y[o + ch]) { dxs[at] += dy[o + ch]; done = true; }
                        }
                    }
                }
            }
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["pool_size"] = $"{PoolSize.Height},{PoolSize.Width}",
        ["strides"] = $"{Strides.Height},{Strides.Width}",
        ["padding"] = Padding,
    };
}
