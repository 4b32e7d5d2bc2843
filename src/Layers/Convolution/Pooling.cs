using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

/// <summary>
/// Pooling over windows of a fixed size (Keras' <c>BasePooling</c>): windows of <c>pool_size</c> cells moved by
/// <c>strides</c> (default: the pool size), with <c>valid</c> padding (only whole windows) or <c>same</c> padding
/// (⌈size/stride⌉ outputs, the padding split as in TensorFlow with the odd cell after). Padded cells never take part:
/// they never win a maximum and are not counted in a mean.
/// </summary>
public abstract class WindowPooling<T> : PoolingLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Checks and sets the options.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size or stride is not positive.</exception>
    /// <exception cref="ArgumentException">The padding is unknown.</exception>
    private protected WindowPooling((int Height, int Width) poolSize, (int Height, int Width) strides, string padding)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(poolSize.Height, nameof(poolSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(poolSize.Width, nameof(poolSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(strides.Height, nameof(strides));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(strides.Width, nameof(strides));
        Padding = padding is "valid" or "same" ? padding : throw new ArgumentException($"padding must be 'valid' or 'same'; got '{padding}'.", nameof(padding));
        PoolHW = poolSize;
        StridesHW = strides;
    }

    /// <summary><c>valid</c> or <c>same</c>.</summary>
    public string Padding { get; }

    /// <summary>(ph, pw), ph = 1 in 1-D.</summary>
    private protected (int Height, int Width) PoolHW { get; }

    /// <summary>(sh, sw), sh = 1 in 1-D.</summary>
    private protected (int Height, int Width) StridesHW { get; }

    private protected override PoolWindow Windows(TensorShape input)
    {
        var (_, h, w, c) = Image(input);
        var (ho, top) = WindowGeometry.Along(Padding, h, PoolHW.Height, StridesHW.Height);
        var (wo, left) = WindowGeometry.Along(Padding, w, PoolHW.Width, StridesHW.Width);
        if (ho <= 0 || wo <= 0)
            throw new ArgumentException(SpatialRank == 2
                ? $"{Name}: a {PoolHW.Height}×{PoolHW.Width} pool with '{Padding}' padding leaves no output for {input}."
                : $"{Name}: a {PoolHW.Width}-step pool with '{Padding}' padding leaves no output for {input}.", "input");
        return new PoolWindow(h, w, c, ho, wo, PoolHW.Height, PoolHW.Width, StridesHW.Height, StridesHW.Width, top, left);
    }

    private protected override TensorShape OutputShape(TensorShape input, in PoolWindow g) =>
        SpatialRank == 2 ? new TensorShape(input[0], g.Ho, g.Wo, g.C) : new TensorShape(input[0], g.Wo, g.C);

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["pool_size"] = SpatialRank == 2 ? $"{PoolHW.Height},{PoolHW.Width}" : PoolHW.Width.ToString(CultureInfo.InvariantCulture),
        ["strides"] = SpatialRank == 2 ? $"{StridesHW.Height},{StridesHW.Width}" : StridesHW.Width.ToString(CultureInfo.InvariantCulture),
        ["padding"] = Padding,
    };
}

/// <summary>Pooling over windows of steps of sequences <c>[batch, steps, channels]</c> to <c>[batch, steps', channels]</c>
/// (see <see cref="WindowPooling{T}"/>).</summary>
public abstract class Pooling1D<T> : WindowPooling<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer.</summary>
    /// <param name="poolSize">The window, in steps; positive. Keras' default 2.</param>
    /// <param name="strides">The step between windows; positive. Default: the pool size.</param>
    /// <param name="padding"><c>valid</c> or <c>same</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <exception cref="ArgumentException">The padding is unknown.</exception>
    private protected Pooling1D(int poolSize, int? strides, string padding) : base((1, poolSize), (1, strides ?? poolSize), padding) { }

    /// <summary>The window, in steps.</summary>
    public int PoolSize => PoolHW.Width;

    /// <summary>The step between windows.</summary>
    public int Strides => StridesHW.Width;

    private protected override int SpatialRank => 1;
}

/// <summary>Pooling over windows of pixels of channels-last images <c>[batch, height, width, channels]</c> to
/// <c>[batch, height', width', channels]</c> (see <see cref="WindowPooling{T}"/>).</summary>
public abstract class Pooling2D<T> : WindowPooling<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer.</summary>
    /// <param name="poolSize">(ph, pw); positive. Keras' default (2, 2).</param>
    /// <param name="strides">(sh, sw); positive. Default: the pool size.</param>
    /// <param name="padding"><c>valid</c> or <c>same</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <exception cref="ArgumentException">The padding is unknown.</exception>
    private protected Pooling2D((int Height, int Width)? poolSize, (int Height, int Width)? strides, string padding)
        : base(poolSize ?? (2, 2), strides ?? poolSize ?? (2, 2), padding) { }

    /// <summary>(ph, pw).</summary>
    public (int Height, int Width) PoolSize => PoolHW;

    /// <summary>(sh, sw).</summary>
    public (int Height, int Width) Strides => StridesHW;

    private protected override int SpatialRank => 2;
}

/// <summary>
/// Keras' <c>MaxPooling1D</c>: y[n, t, c] = max of x[n, t·s − p + k, c] over the window's steps k inside the sequence.
/// The gradient goes to the first maximum of each window.
/// </summary>
public sealed class MaxPooling1D<T> : Pooling1D<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc cref="Pooling1D{T}(int, int?, string)"/>
    public MaxPooling1D(int poolSize = 2, int? strides = null, string padding = "valid") : base(poolSize, strides, padding) { }

    /// <inheritdoc/>
    public override string TypeName => "max_pooling1d";

    private protected override bool TakesMax => true;
}

/// <summary>
/// Keras' <c>MaxPooling2D</c>: y[n, oy, ox, c] = max of x[n, iy, ix, c] over the window's pixels inside the image.
/// The gradient goes to the first maximum of each window in row order (TensorFlow's tie rule); a NaN in a window makes
/// its output NaN, which then routes no gradient.
/// </summary>
public sealed class MaxPooling2D<T> : Pooling2D<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc cref="Pooling2D{T}(ValueTuple{int, int}?, ValueTuple{int, int}?, string)"/>
    public MaxPooling2D((int Height, int Width)? poolSize = null, (int Height, int Width)? strides = null, string padding = "valid")
        : base(poolSize, strides, padding) { }

    /// <inheritdoc/>
    public override string TypeName => "max_pooling2d";

    private protected override bool TakesMax => true;
}

/// <summary>
/// Keras' <c>AveragePooling1D</c>: y[n, t, c] = (1/m)·Σ x[n, t·s − p + k, c] over the m steps k of the window inside the
/// sequence. With <c>same</c> padding the edge windows divide by their own m, as Keras and TensorFlow do (PyTorch's
/// <c>avg_pool1d</c> counts the padding unless <c>count_include_pad=False</c>).
/// </summary>
public sealed class AveragePooling1D<T> : Pooling1D<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc cref="Pooling1D{T}(int, int?, string)"/>
    public AveragePooling1D(int poolSize = 2, int? strides = null, string padding = "valid") : base(poolSize, strides, padding) { }

    /// <inheritdoc/>
    public override string TypeName => "average_pooling1d";

    private protected override bool TakesMax => false;
}

/// <summary>
/// Keras' <c>AveragePooling2D</c>: y[n, oy, ox, c] = (1/m)·Σ x[n, iy, ix, c] over the m pixels of the window inside the
/// image. With <c>same</c> padding the edge windows divide by their own m, as Keras and TensorFlow do (PyTorch's
/// <c>avg_pool2d</c> counts the padding unless <c>count_include_pad=False</c>).
/// </summary>
public sealed class AveragePooling2D<T> : Pooling2D<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc cref="Pooling2D{T}(ValueTuple{int, int}?, ValueTuple{int, int}?, string)"/>
    public AveragePooling2D((int Height, int Width)? poolSize = null, (int Height, int Width)? strides = null, string padding = "valid")
        : base(poolSize, strides, padding) { }

    /// <inheritdoc/>
    public override string TypeName => "average_pooling2d";

    private protected override bool TakesMax => false;
}
