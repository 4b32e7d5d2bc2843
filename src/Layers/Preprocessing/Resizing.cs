using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>Resizing</c> on <c>[batch, H, W, channels]</c> (channels last): resizes every image to
/// <see cref="Height"/> × <see cref="Width"/>, in training and inference alike. Each axis maps output index o to the
/// source coordinate s = (o + ½)·n / m − ½ (half-pixel centres; n input and m output samples). Bilinear (no antialias):
/// s is clamped to [0, n − 1] and y = (1 − f)·x[⌊s⌋] + f·x[min(⌊s⌋ + 1, n − 1)], f = s − ⌊s⌋, along rows then columns;
/// nearest: x[⌊(o + ½)·n / m⌋]. Backward is the adjoint: dx scatters dy with the same weights.
/// </summary>
/// <remarks>
/// <para>Bilinear is Keras' (and TF's <c>resize</c> with <c>antialias=False</c>) triangle kernel, whose weights are
/// renormalised over the pixels that exist, which is the clamp above; it equals libtorch's
/// <c>interpolate(mode: bilinear, align_corners: false)</c> for up- and downsampling alike. Nearest is Keras', which
/// equals libtorch's <c>nearest-exact</c>, not its legacy <c>nearest</c> (⌊o·n / m⌋).</para>
/// <para><see cref="CropToAspectRatio"/>: the largest centred window with the target's aspect ratio, of
/// ch = min(H, ⌊W·height / width⌋) (at least 1) rows and cw = min(W, ⌊H·width / height⌋) columns starting at
/// (⌊(H − ch)/2⌋, ⌊(W − cw)/2⌋), is resized instead of the whole image, as in Keras; the rest gets no gradient.
/// Keras' <c>bicubic</c>/<c>lanczos</c> interpolations, <c>pad_to_aspect_ratio</c> and unbatched input are not
/// offered.</para>
/// </remarks>
public sealed class Resizing<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wY = new(), _wDx = new();
    private readonly bool _bilinear;
    private Tensor<T>? _lastY;
    private TensorShape _lastInputShape;
    // Per output row (column): the two source rows (columns) and the weight of the second; built per input size.
    private int[] _row0 = [], _row1 = [], _col0 = [], _col1 = [];
    private double[] _rowF = [], _colF = [];
    private int _tableH = -1, _tableW = -1;

    /// <summary>Creates the layer.</summary>
    /// <param name="height">The height of the output; positive.</param>
    /// <param name="width">The width of the output; positive.</param>
    /// <param name="interpolation"><c>"bilinear"</c> (Keras' default) or <c>"nearest"</c>.</param>
    /// <param name="cropToAspectRatio">Resize the largest centred window of the target's aspect ratio instead of the
    /// whole image (Keras' <c>crop_to_aspect_ratio</c>, default false).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="height"/> or <paramref name="width"/> is not positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="interpolation"/> is neither <c>bilinear</c> nor <c>nearest</c>.</exception>
    public Resizing(int height, int width, string interpolation = "bilinear", bool cropToAspectRatio = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        _bilinear = AffineResampler.ParseBilinear(interpolation, nameof(interpolation));
        (Height, Width, Interpolation, CropToAspectRatio) = (height, width, interpolation, cropToAspectRatio);
    }

    /// <inheritdoc/>
    public override string TypeName => "resizing";

    /// <summary>The height of the output.</summary>
    public int Height { get; }

    /// <summary>The width of the output.</summary>
    public int Width { get; }

    /// <summary><c>"bilinear"</c> or <c>"nearest"</c>.</summary>
    public string Interpolation { get; }

    /// <summary>Whether the largest centred window of the target's aspect ratio is resized instead of the whole image.</summary>
    public bool CropToAspectRatio { get; }

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng) => ComputeOutputShape(inputShape);

    /// <inheritdoc/>
    /// <remarks>Any height and width fit; the channels must match the built layer's.</remarks>
    protected override void CheckFeatures(TensorShape inputShape, string paramName)
    {
        ComputeOutputShape(inputShape);
        base.CheckFeatures(inputShape, paramName);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The shape is not 4-D.</exception>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        if (inputShape.Rank != 4)
            throw new ArgumentException($"{Name} takes [batch, height, width, channels]; got {inputShape}.", "input");
        return new TensorShape(inputShape[0], Height, Width, inputShape[3]);
    }

    /// <summary>The window that is resized: the whole image, or Keras' crop to the target's aspect ratio.</summary>
    private (int Top, int Left, int Rows, int Cols) Window(int h, int w)
    {
        if (!CropToAspectRatio) return (0, 0, h, w);
        int rows = Math.Max(Math.Min(h, (int)((double)w * Height / Width)), 1);
        int cols = Math.Max(Math.Min(w, (int)((double)h * Width / Height)), 1);
        return ((h - rows) / 2, (w - cols) / 2, rows, cols);
    }

    // Fills the taps of one axis: n source samples starting at `start`, m outputs.
    private void Axis(int n, int start, int m, ref int[] i0, ref int[] i1, ref double[] f)
    {
        if (i0.Length != m) (i0, i1, f) = (new int[m], new int[m], new double[m]);
        double scale = (double)n / m;
        for (int o = 0; o < m; o++)
        {
            if (!_bilinear)
            {
                int k = Math.Min((int)Math.Floor((o + 0.5) * scale), n - 1);
                (i0[o], i1[o], f[o]) = (start + k, start + k, 0);
                continue;
            }
            double s = Math.Clamp((o + 0.5) * scale - 0.5, 0, n - 1);
            int lo = (int)Math.Floor(s);
            (i0[o], i1[o], f[o]) = (start + lo, start + Math.Min(lo + 1, n - 1), s - lo);
        }
    }

    private void EnsureTables(int h, int w)
    {
        if (h == _tableH && w == _tableW) return;
        var (top, left, rows, cols) = Window(h, w);
        Axis(rows, top, Height, ref _row0, ref _row1, ref _rowF);
        Axis(cols, left, Width, ref _col0, ref _col1, ref _colF);
        (_tableH, _tableW) = (h, w);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        var s = input.Shape;
        int batch = s[0], h = s[1], w = s[2], c = s[3];
        EnsureTables(h, w);
        var y = _wY.Get(ComputeOutputShape(s));
        var x = input.ReadOnlySpan;
        var ys = y.Span;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < Height; i++)
            {
                T fy = T.CreateChecked(_rowF[i]), gy = T.One - fy;
                int r0 = (b * h + _row0[i]) * w, r1 = (b * h + _row1[i]) * w;
                for (int j = 0; j < Width; j++)
                {
                    T fx = T.CreateChecked(_colF[j]), gx = T.One - fx;
                    T w00 = gy * gx, w01 = gy * fx, w10 = fy * gx, w11 = fy * fx;
                    var p00 = x.Slice((r0 + _col0[j]) * c, c);
                    var p01 = x.Slice((r0 + _col1[j]) * c, c);
                    var p10 = x.Slice((r1 + _col0[j]) * c, c);
                    var p11 = x.Slice((r1 + _col1[j]) * c, c);
                    var dst = ys.Slice(((b * Height + i) * Width + j) * c, c);
                    for (int k = 0; k < c; k++) dst[k] = w00 * p00[k] + w01 * p01[k] + w10 * p10[k] + w11 * p11[k];
                }
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
        int batch = s[0], h = s[1], w = s[2], c = s[3];
        EnsureTables(h, w);
        var dx = _wDx.Get(s, clear: true);
        var dy = dOutput.ReadOnlySpan;
        var dxs = dx.Span;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < Height; i++)
            {
                T fy = T.CreateChecked(_rowF[i]), gy = T.One - fy;
                int r0 = (b * h + _row0[i]) * w, r1 = (b * h + _row1[i]) * w;
                for (int j = 0; j < Width; j++)
                {
                    T fx = T.CreateChecked(_colF[j]), gx = T.One - fx;
                    T w00 = gy * gx, w01 = gy * fx, w10 = fy * gx, w11 = fy * fx;
                    var g = dy.Slice(((b * Height + i) * Width + j) * c, c);
                    var p00 = dxs.Slice((r0 + _col0[j]) * c, c);
                    for (int k = 0; k < c; k++) p00[k] += w00 * g[k];
                    var p01 = dxs.Slice((r0 + _col1[j]) * c, c);
                    for (int k = 0; k < c; k++) p01[k] += w01 * g[k];
                    var p10 = dxs.Slice((r1 + _col0[j]) * c, c);
                    for (int k = 0; k < c; k++) p10[k] += w10 * g[k];
                    var p11 = dxs.Slice((r1 + _col1[j]) * c, c);
                    for (int k = 0; k < c; k++) p11[k] += w11 * g[k];
                }
            }
        return dx;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["height"] = Height.ToString(CultureInfo.InvariantCulture),
        ["width"] = Width.ToString(CultureInfo.InvariantCulture),
        ["interpolation"] = Interpolation,
        ["crop_to_aspect_ratio"] = Str(CropToAspectRatio),
    };
}
