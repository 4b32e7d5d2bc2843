namespace Nn.Simd.Layers;

/// <summary>The output size along one axis and the padding before its first cell, for a window (a kernel or a
/// pool) of <c>window</c> cells moved by <c>stride</c>, as Keras computes them.</summary>
internal static class WindowGeometry
{
    /// <summary><c>valid</c>: ⌊(size − window)/stride⌋ + 1 (0 when the window does not fit), no padding;
    /// <c>same</c>: ⌈size/stride⌉, the total padding max(0, (out − 1)·stride + window − size) split with the odd one
    /// after (TensorFlow's rule); <c>causal</c>: ⌈size/stride⌉ with all window − 1 padding before.</summary>
    public static (int Out, int PadBefore) Along(string padding, int size, int window, int stride)
    {
        switch (padding)
        {
            case "same":
                int o = (size + stride - 1) / stride;
                return (o, Math.Max(0, (o - 1) * stride + window - size) / 2);
            case "causal":
                return ((size + stride - 1) / stride, window - 1);
            default:
                return (size >= window ? (size - window) / stride + 1 : 0, 0);
        }
    }

    /// <summary>A transposed convolution's output size along one axis and where its output starts in the full scatter
    /// (input cell i spreads over output cells i·stride + t·dilation, t &lt; k, for a kernel spanning <c>window</c> =
    /// (k − 1)·d + 1 cells), as Keras computes them (<c>_get_output_shape_given_tf_padding</c> and the JAX padding rule
    /// that TensorFlow's <c>conv2d_transpose</c> agrees with):
    /// <c>valid</c>: out = (size − 1)·stride + window + op, op defaulting to max(window, stride) − window, starting at the
    /// first scattered cell; <c>same</c>: out = size·stride without op, else (size − 1)·stride + window mod 2 + op,
    /// starting <c>window − 1 − min(⌈pad/2⌉, window − 1)</c> cells in, where pad = stride + window − 2 without op and
    /// window + window mod 2 − 2 + op with it. Output cells past the scatter are zero.</summary>
    /// <remarks>The start is the padding before the first cell of the convolution whose input gradient this is: a
    /// transposed convolution is the backward pass of a convolution from its output back to its input.</remarks>
    public static (int Out, int PadBefore) Transposed(string padding, int size, int window, int stride, int? outputPadding)
    {
        if (padding == "valid")
            return ((size - 1) * stride + window + (outputPadding ?? Math.Max(window, stride) - window), 0);
        int pad = outputPadding is { } op ? window + window % 2 - 2 + op : stride + window - 2;
        int before = Math.Min(pad / 2 + pad % 2, window - 1);
        return (outputPadding is { } o ? (size - 1) * stride + window % 2 + o : size * stride, window - 1 - before);
    }

    /// <summary>Checks a convolution's window options as Keras does: sizes, strides and dilation rates positive, and no
    /// stride above 1 together with a dilation rate above 1; and the padding name.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size, stride or dilation rate is not positive.</exception>
    /// <exception cref="ArgumentException">Both a stride and a dilation rate exceed 1, or the padding is not one of
    /// <c>valid</c>, <c>same</c> (or <c>causal</c> when <paramref name="allowCausal"/>).</exception>
    public static void CheckConvolution((int Height, int Width) kernelSize, (int Height, int Width) strides,
        (int Height, int Width) dilationRate, string padding, bool allowCausal = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernelSize.Height, nameof(kernelSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernelSize.Width, nameof(kernelSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(strides.Height, nameof(strides));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(strides.Width, nameof(strides));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dilationRate.Height, nameof(dilationRate));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dilationRate.Width, nameof(dilationRate));
        if (Math.Max(strides.Height, strides.Width) > 1 && Math.Max(dilationRate.Height, dilationRate.Width) > 1)
            throw new ArgumentException($"strides > 1 cannot be combined with dilationRate > 1, as in Keras; got strides {strides} and dilationRate {dilationRate}.", nameof(dilationRate));
        if (!(padding is "valid" or "same" || (allowCausal && padding == "causal")))
            throw new ArgumentException($"padding must be 'valid' or 'same'{(allowCausal ? " or 'causal'" : "")}; got '{padding}'.", nameof(padding));
    }
}
