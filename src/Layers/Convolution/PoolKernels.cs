using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
/// <remarks>With C at least one 128-bit vector, the channels go through the widest vector that fits, C/width vectors
/// plus one last vector that overlaps the one before (the overlapped lanes compute the same values again, or in
/// backward are masked off), all held in registers across the window's cells. A call per cell on C = 16 or 32
/// values (TensorPrimitives) cost several times more than the arithmetic. Narrower C and non-vector hardware take
/// the span loops, which give the same values.</remarks>
internal static class PoolKernels<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>y[oy, ox, c] = max over the window's cells inside the input of x[iy, ix, c] (padding never wins;
    /// a NaN in a window makes its output NaN and +0 beats −0, IEEE 754 maximum as TensorPrimitives.Max).</summary>
    public static void MaxForward(in PoolWindow g, ReadOnlySpan<T> x, Span<T> y)
    {
        if (g.Ho * g.Wo == 0) return;
        ref T px = ref MemoryMarshal.GetReference(x);
        ref T py = ref MemoryMarshal.GetReference(y);
        if (PoolLanes512<T>.IsSupported && g.C >= Vector512<T>.Count) MaxForward<PoolLanes512<T>, Vector512<T>>(g, ref px, ref py);
        else if (PoolLanes256<T>.IsSupported && g.C >= Vector256<T>.Count) MaxForward<PoolLanes256<T>, Vector256<T>>(g, ref px, ref py);
        else if (PoolLanes128<T>.IsSupported && g.C >= Vector128<T>.Count) MaxForward<PoolLanes128<T>, Vector128<T>>(g, ref px, ref py);
        else MaxForwardSpans(g, x, y);
    }

    private static void MaxForward<TL, TV>(in PoolWindow g, ref T x, ref T y) where TL : IPoolLanes<TV, T> where TV : struct
    {
        int w = g.W, c = g.C, vc = TL.Count, last = c - vc;
        for (int oy = 0, o = 0; oy < g.Ho; oy++)
        {
            var (i0, i1) = g.Rows(oy);
            for (int ox = 0; ox < g.Wo; ox++, o += c)
            {
                var (j0, j1) = g.Columns(ox);
                for (int ch = 0; ch < c; ch += vc)
                {
                    int at = Math.Min(ch, last);
                    var m = TL.Load(ref x, (i0 * w + j0) * c + at);
                    for (int iy = i0; iy < i1; iy++)
                        for (int ix = iy == i0 ? j0 + 1 : j0; ix < j1; ix++)
                            m = TL.Max(m, TL.Load(ref x, (iy * w + ix) * c + at));
                    TL.Store(m, ref y, o + at);
                }
            }
        }
    }

    private static void MaxForwardSpans(in PoolWindow g, ReadOnlySpan<T> x, Span<T> y)
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
    /// channel c sits at (iy, ix) of dy[oy, ox, c]; done with a lane mask of the channels still waiting. A NaN output
    /// matches no cell and routes no gradient.</summary>
    public static void MaxBackward(in PoolWindow g, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
    {
        int vc = PoolLanes512<T>.IsSupported && g.C >= Vector512<T>.Count ? Vector512<T>.Count
            : PoolLanes256<T>.IsSupported && g.C >= Vector256<T>.Count ? Vector256<T>.Count
            : PoolLanes128<T>.IsSupported && g.C >= Vector128<T>.Count ? Vector128<T>.Count : 0;
        // Windows that tile the input from its first cell (stride = pool, nothing padded before; Keras' default) hold
        // every cell at most once: the vector loop then writes each covered cell outright, and only the cells no
        // window reaches (the last rows and columns of a 'valid' pool) are cleared first.
        bool tiles = vc > 0 && g.StrideH == g.PoolH && g.StrideW == g.PoolW && g.PadTop == 0 && g.PadLeft == 0;
        if (!tiles) dx.Clear();
        else
        {
            int h = Math.Min(g.H, g.Ho * g.PoolH), w = Math.Min(g.W, g.Wo * g.PoolW), c = g.C;
            if (w < g.W)
                for (int iy = 0; iy < h; iy++) dx.Slice((iy * g.W + w) * c, (g.W - w) * c).Clear();
            dx.Slice(h * g.W * c).Clear();
        }
        if (g.Ho * g.Wo == 0) return;
        ref T px = ref MemoryMarshal.GetReference(x);
        ref T py = ref MemoryMarshal.GetReference(y);
        ref T pdy = ref MemoryMarshal.GetReference(dy);
        ref T pdx = ref MemoryMarshal.GetReference(dx);
        if (vc == 0) MaxBackwardScalar(g, x, y, dy, dx);
        else if (vc == Vector512<T>.Count && PoolLanes512<T>.IsSupported) MaxBackward<PoolLanes512<T>, Vector512<T>>(g, tiles, ref px, ref py, ref pdy, ref pdx);
        else if (vc == Vector256<T>.Count) MaxBackward<PoolLanes256<T>, Vector256<T>>(g, tiles, ref px, ref py, ref pdy, ref pdx);
        else MaxBackward<PoolLanes128<T>, Vector128<T>>(g, tiles, ref px, ref py, ref pdy, ref pdx);
    }

    /// <summary>The vector loop of <see cref="MaxBackward(in PoolWindow, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/>.
    /// With <paramref name="tiles"/> a cell's lanes start from +0 instead of from dx (which is not cleared) the first
    /// time they are reached (all of a whole vector, the new lanes of the overlapping last one): the same sum as adding
    /// to a cleared dx.</summary>
    private static void MaxBackward<TL, TV>(in PoolWindow g, bool tiles, ref T x, ref T y, ref T dy, ref T dx) where TL : IPoolLanes<TV, T> where TV : struct
    {
        int w = g.W, c = g.C, vc = TL.Count, last = c - vc;
        // The last vector overlaps the one before by vc − c % vc lanes (none when C is a multiple of vc): those lanes
        // start out settled, so they add zero.
        var lastPending = TL.LanesFrom(c % vc == 0 ? 0 : vc - c % vc);
        for (int oy = 0, o = 0; oy < g.Ho; oy++)
        {
            var (i0, i1) = g.Rows(oy);
            for (int ox = 0; ox < g.Wo; ox++, o += c)
            {
                var (j0, j1) = g.Columns(ox);
                for (int ch = 0; ch < c; ch += vc)
                {
                    int at = Math.Min(ch, last);
                    var pending = at == ch ? TL.LanesFrom(0) : lastPending;
                    var ym = TL.Load(ref y, o + at);
                    var grad = TL.Load(ref dy, o + at);
                    for (int iy = i0; iy < i1; iy++)
                        for (int ix = j0; ix < j1; ix++)
                        {
                            int cell = (iy * w + ix) * c + at;
                            var hit = TL.EqualAnd(TL.Load(ref x, cell), ym, pending);
                            var basis = !tiles ? TL.Load(ref dx, cell) : at == ch ? TL.Zero : TL.AndNot(TL.Load(ref dx, cell), lastPending);
                            TL.Store(TL.Add(basis, TL.And(hit, grad)), ref dx, cell);
                            pending = TL.AndNot(pending, hit);
                        }
                }
            }
        }
    }

    private static void MaxBackwardScalar(in PoolWindow g, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
    {
        int w = g.W, c = g.C;
        for (int oy = 0, o = 0; oy < g.Ho; oy++)
        {
            var (i0, i1) = g.Rows(oy);
            for (int ox = 0; ox < g.Wo; ox++, o += c)
            {
                var (j0, j1) = g.Columns(ox);
                for (int ch = 0; ch < c; ch++)
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

/// <summary>One vector width for <see cref="PoolKernels{T}"/>: the few operations the pooling loops need
/// (<see cref="Nn.Simd.Tensors.Kernels.Common.ISimd{TVector, T}"/> has no lane masks or IEEE maximum).</summary>
internal interface IPoolLanes<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Hardware-accelerated at this width, and <typeparamref name="T"/> is float or double.</summary>
    static abstract bool IsSupported { get; }
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }
    static abstract TV Zero { get; }
    static abstract TV Load(ref T source, int index);
    static abstract void Store(TV value, ref T destination, int index);
    /// <summary>IEEE 754 maximum per lane, as TensorPrimitives.Max: NaN when either is NaN, +0 above −0.</summary>
    static abstract TV Max(TV x, TV y);
    static abstract TV Add(TV x, TV y);
    /// <summary>All bits set in the lanes where x = y and <paramref name="mask"/> is set, zero elsewhere.</summary>
    static abstract TV EqualAnd(TV x, TV y, TV mask);
    static abstract TV And(TV x, TV y);
    /// <summary>x with the bits of y cleared.</summary>
    static abstract TV AndNot(TV x, TV y);
    /// <summary>All bits set in lanes ≥ <paramref name="first"/>, zero below.</summary>
    static abstract TV LanesFrom(int first);
}

internal readonly struct PoolLanes128<T> : IPoolLanes<Vector128<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static bool IsSupported => Vector128.IsHardwareAccelerated && (typeof(T) == typeof(float) || typeof(T) == typeof(double));
    public static int Count => Vector128<T>.Count;
    public static Vector128<T> Zero => Vector128<T>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Load(ref T source, int index) => Vector128.LoadUnsafe(ref source, (nuint)index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<T> value, ref T destination, int index) => value.StoreUnsafe(ref destination, (nuint)index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Max(Vector128<T> x, Vector128<T> y) => Vector128.Max(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Add(Vector128<T> x, Vector128<T> y) => x + y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> EqualAnd(Vector128<T> x, Vector128<T> y, Vector128<T> mask) => Vector128.Equals(x, y) & mask;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> And(Vector128<T> x, Vector128<T> y) => x & y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> AndNot(Vector128<T> x, Vector128<T> y) => Vector128.AndNot(x, y);
    public static Vector128<T> LanesFrom(int first) => Vector128.GreaterThanOrEqual(Vector128<T>.Indices, Vector128.Create(T.CreateTruncating(first)));
}

internal readonly struct PoolLanes256<T> : IPoolLanes<Vector256<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static bool IsSupported => Vector256.IsHardwareAccelerated && (typeof(T) == typeof(float) || typeof(T) == typeof(double));
    public static int Count => Vector256<T>.Count;
    public static Vector256<T> Zero => Vector256<T>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Load(ref T source, int index) => Vector256.LoadUnsafe(ref source, (nuint)index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<T> value, ref T destination, int index) => value.StoreUnsafe(ref destination, (nuint)index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Max(Vector256<T> x, Vector256<T> y) => Vector256.Max(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Add(Vector256<T> x, Vector256<T> y) => x + y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> EqualAnd(Vector256<T> x, Vector256<T> y, Vector256<T> mask) => Vector256.Equals(x, y) & mask;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> And(Vector256<T> x, Vector256<T> y) => x & y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> AndNot(Vector256<T> x, Vector256<T> y) => Vector256.AndNot(x, y);
    public static Vector256<T> LanesFrom(int first) => Vector256.GreaterThanOrEqual(Vector256<T>.Indices, Vector256.Create(T.CreateTruncating(first)));
}

internal readonly struct PoolLanes512<T> : IPoolLanes<Vector512<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static bool IsSupported => Vector512.IsHardwareAccelerated && (typeof(T) == typeof(float) || typeof(T) == typeof(double));
    public static int Count => Vector512<T>.Count;
    public static Vector512<T> Zero => Vector512<T>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Load(ref T source, int index) => Vector512.LoadUnsafe(ref source, (nuint)index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<T> value, ref T destination, int index) => value.StoreUnsafe(ref destination, (nuint)index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Max(Vector512<T> x, Vector512<T> y) => Vector512.Max(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Add(Vector512<T> x, Vector512<T> y) => x + y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> EqualAnd(Vector512<T> x, Vector512<T> y, Vector512<T> mask) => Vector512.Equals(x, y) & mask;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> And(Vector512<T> x, Vector512<T> y) => x & y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> AndNot(Vector512<T> x, Vector512<T> y) => Vector512.AndNot(x, y);
    public static Vector512<T> LanesFrom(int first) => Vector512.GreaterThanOrEqual(Vector512<T>.Indices, Vector512.Create(T.CreateTruncating(first)));
}
