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
}
