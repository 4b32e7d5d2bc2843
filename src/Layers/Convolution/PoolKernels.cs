using System.Numerics;

namespace Nn.Simd.Layers;

// Shapes (channels last): one sample x [H, W, C], y [Ho, Wo, C]; a sequence [T, C] is an image one pixel high.
// Window (oy, ox) covers rows oy·sh − pt … oy·sh − pt + ph − 1 and columns ox·sw − pl … ox·sw − pl + pw − 1; the
// cells of it outside the input are padding and are never read.

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

/// <summary>Where the windows of one pooling pass lie over one sample [H, W, C].</summary>
/// <param name="H">Input rows (1 for a sequence).</param>
/// <param name="W">Input columns (the steps of a sequence).</param>
/// <param name="C">Channels.</param>
/// <param name="Ho">Output rows.</param>
/// <param name="Wo">Output columns.</param>
/// <param name="PoolH">Window rows.</param>
/// <param name="PoolW">Window columns.</param>
/// <param name="StrideH">Row step between windows.</param>
/// <param name="StrideW">Column step between windows.</param>
/// <param name="PadTop">Padding rows before the first row.</param>
/// <param name="PadLeft">Padding columns before the first column.</param>
internal readonly record struct PoolWindow(int H, int W, int C, int Ho, int Wo, int PoolH, int PoolW, int StrideH, int StrideW, int PadTop, int PadLeft)
{
    /// <summary>The rows [From, To) of window row <paramref name="oy"/> that lie inside the input.</summary>
    public (int From, int To) Rows(int oy)
    {
        int top = oy * StrideH - PadTop;
        return (Math.Max(0, top), Math.Min(H, top + PoolH));
    }

    /// <summary>The columns [From, To) of window column <paramref name="ox"/> that lie inside the input.</summary>
    public (int From, int To) Columns(int ox)
    {
        int left = ox * StrideW - PadLeft;
        return (Math.Max(0, left), Math.Min(W, left + PoolW));
    }
}

/// <summary>The per-sample pooling kernels. Channels last: each window cell is a contiguous run of C values, so every
/// step works on C lanes at once.</summary>
internal static class PoolKernels<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>y[oy, ox, c] = max over the window's cells inside the input of x[iy, ix, c] (padding never wins;
    /// a NaN in a window makes its output NaN, as TensorPrimitives.Max does).</summary>
    public static void MaxForward(in PoolWindow g, ReadOnlySpan<T> x, Span<T> y)
    {
        int w = g.W, c = g.C;
        for (int oy = 0, o = 0; oy < g.Ho; oy++)
        {
            var (i0, i1) = g.Rows(oy);
            for (int ox = 0; ox < g.Wo; ox++, o += c)
            {
                var (j0, j1) = g.Columns(ox);
                var dst = y.Slice(o, c);
                x.Slice((i0 * w + j0) * c, c).CopyTo(dst);
                for (int iy = i0; iy < i1; iy++)
                    for (int ix = iy == i0 ? j0 + 1 : j0; ix < j1; ix++)
                        TensorPrimitives.Max(dst, x.Slice((iy * w + ix) * c, c), dst);
            }
        }
    }

    /// <summary>dx[iy, ix, c] = Σ over the windows whose first maximum (in row order, as TensorFlow breaks ties) of
    /// channel c sits at (iy, ix) of dy[oy, ox, c]; done with a lane mask of the channels still waiting,
    /// Vector&lt;T&gt; lanes at a time. A NaN output matches no cell and routes no gradient.</summary>
    public static void MaxBackward(in PoolWindow g, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
    {
        int w = g.W, c = g.C;
        dx.Clear();
        int vc = Vector<T>.Count, whole = c - c % vc;
        for (int oy = 0, o = 0; oy < g.Ho; oy++)
        {
            var (i0, i1) = g.Rows(oy);
            for (int ox = 0; ox < g.Wo; ox++, o += c)
            {
                var (j0, j1) = g.Columns(ox);
                for (int ch = 0; ch < whole; ch += vc)
                {
                    var ym = new Vector<T>(y.Slice(o + ch, vc));
                    var grad = new Vector<T>(dy.Slice(o + ch, vc));
                    var pending = Vector<T>.AllBitsSet;
                    for (int iy = i0; iy < i1; iy++)
                        for (int ix = j0; ix < j1; ix++)
                        {
                            int at = (iy * w + ix) * c + ch;
                            var hit = Vector.Equals(new Vector<T>(x.Slice(at, vc)), ym) & pending;
                            var d = dx.Slice(at, vc);
                            (new Vector<T>(d) + Vector.ConditionalSelect(hit, grad, Vector<T>.Zero)).CopyTo(d);
                            pending = Vector.AndNot(pending, hit);
                        }
                }
                for (int ch = whole; ch < c; ch++)
                {
                    bool done = false;
                    for (int iy = i0; iy < i1 && !done; iy++)
                        for (int ix = j0; ix < j1 && !done; ix++)
                        {
                            int at = (iy * w + ix) * c + ch;
                            if (x[at] == y[o + ch]) { dx[at] += dy[o + ch]; done = true; }
                        }
                }
            }
        }
    }

    /// <summary>y[oy, ox, c] = (1/n)·Σ x[iy, ix, c] over the n cells of the window inside the input: padding is
    /// left out of both the sum and the count, as Keras does (PyTorch's <c>count_include_pad=False</c>).</summary>
    public static void AverageForward(in PoolWindow g, ReadOnlySpan<T> x, Span<T> y)
    {
        int w = g.W, c = g.C;
        for (int oy = 0, o = 0; oy < g.Ho; oy++)
        {
            var (i0, i1) = g.Rows(oy);
            for (int ox = 0; ox < g.Wo; ox++, o += c)
            {
                var (j0, j1) = g.Columns(ox);
                var dst = y.Slice(o, c);
                x.Slice((i0 * w + j0) * c, c).CopyTo(dst);
                for (int iy = i0; iy < i1; iy++)
                    for (int ix = iy == i0 ? j0 + 1 : j0; ix < j1; ix++)
                        TensorPrimitives.Add(dst, x.Slice((iy * w + ix) * c, c), dst);
                TensorPrimitives.Multiply(dst, T.One / T.CreateChecked((i1 - i0) * (j1 - j0)), dst);
            }
        }
    }

    /// <summary>dx[iy, ix, c] = Σ over the windows holding (iy, ix) of dy[oy, ox, c]/n, n the window's cells inside
    /// the input.</summary>
    public static void AverageBackward(in PoolWindow g, ReadOnlySpan<T> dy, Span<T> dx)
    {
        int w = g.W, c = g.C;
        dx.Clear();
        for (int oy = 0, o = 0; oy < g.Ho; oy++)
        {
            var (i0, i1) = g.Rows(oy);
            for (int ox = 0; ox < g.Wo; ox++, o += c)
            {
                var (j0, j1) = g.Columns(ox);
                var grad = dy.Slice(o, c);
                T inv = T.One / T.CreateChecked((i1 - i0) * (j1 - j0));
                for (int iy = i0; iy < i1; iy++)
                    for (int ix = j0; ix < j1; ix++)
                    {
                        var d = dx.Slice((iy * w + ix) * c, c);
                        TensorPrimitives.MultiplyAdd(grad, inv, d, d);
                    }
            }
        }
    }
}
