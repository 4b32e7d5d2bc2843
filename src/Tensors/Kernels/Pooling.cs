using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

// Shapes (channels last): one sample x [H, W, C], y [Ho, Wo, C]; a sequence [T, C] is an image one pixel high.
// Window (oy, ox) covers rows oy·sh − pt … oy·sh − pt + ph − 1 and columns ox·sw − pl … ox·sw − pl + pw − 1; the
// cells of it outside the input are padding and are never read.

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
public readonly record struct PoolWindow(int H, int W, int C, int Ho, int Wo, int PoolH, int PoolW, int StrideH, int StrideW, int PadTop, int PadLeft)
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

/// <summary>The per-sample pooling kernels (Keras' <c>MaxPooling1D/2D</c> and <c>AveragePooling1D/2D</c> on one
/// sample). Channels last: each window cell is a contiguous run of C values, so every step works on C lanes at once.</summary>
/// <remarks>With C at least one 128-bit vector, the channels go through the widest vector that fits, C/width vectors
/// plus one last vector that overlaps the one before (the overlapped lanes compute the same values again, or in
/// backward are masked off), all held in registers across the window's cells. A call per cell on C = 16 or 32
/// values (TensorPrimitives) cost several times more than the arithmetic. Narrower C and non-vector hardware take
/// the span loops, which give the same bits.</remarks>
public static class Pooling
{
    /// <summary>y[oy, ox, c] = max over the window's cells inside the input of x[iy, ix, c] (padding never wins;
    /// a NaN in a window makes its output NaN and +0 beats −0, IEEE 754 maximum as TensorPrimitives.Max).</summary>
    /// <param name="g">The windows over one sample.</param>
    /// <param name="x">The sample, [H, W, C].</param>
    /// <param name="y">The pooled sample, [Ho, Wo, C].</param>
    /// <exception cref="ArgumentException">A span is shorter than its shape.</exception>
    public static void MaxForward<T>(in PoolWindow g, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> =>
        Forward<T, MaxCells>(g, x, y);

    /// <summary>y[oy, ox, c] = (1/n)·Σ x[iy, ix, c] over the n cells of the window inside the input (summed in row
    /// order): padding is left out of both the sum and the count, as Keras does (PyTorch's
    /// <c>count_include_pad=False</c>).</summary>
    /// <param name="g">The windows over one sample.</param>
    /// <param name="x">The sample, [H, W, C].</param>
    /// <param name="y">The pooled sample, [Ho, Wo, C].</param>
    /// <exception cref="ArgumentException">A span is shorter than its shape.</exception>
    public static void AverageForward<T>(in PoolWindow g, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> =>
        Forward<T, MeanCells>(g, x, y);

    /// <summary>dx[iy, ix, c] = Σ over the windows whose first maximum (in row order, as TensorFlow breaks ties) of
    /// channel c sits at (iy, ix) of dy[oy, ox, c]; done with a lane mask of the channels still waiting. A NaN output
    /// matches no cell and routes no gradient.</summary>
    /// <param name="g">The windows over one sample.</param>
    /// <param name="x">The forward input, [H, W, C].</param>
    /// <param name="y">The forward output, [Ho, Wo, C].</param>
    /// <param name="dy">The output gradient, [Ho, Wo, C].</param>
    /// <param name="dx">Receives the input gradient, [H, W, C] (overwritten).</param>
    /// <exception cref="ArgumentException">A span is shorter than its shape.</exception>
    public static void MaxBackward<T>(in PoolWindow g, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(g, x.Length, nameof(x), y.Length, nameof(y));
        Check(g, dx.Length, nameof(dx), dy.Length, nameof(dy));
        int width = Width<T>(g.C);
        // Windows that tile the input from its first cell (stride = pool, nothing padded before; Keras' default) hold
        // every cell at most once: the vector loop then writes each covered cell outright, and only the cells no
        // window reaches (the last rows and columns of a 'valid' pool) are cleared first.
        bool tiles = width > 0 && g.StrideH == g.PoolH && g.StrideW == g.PoolW && g.PadTop == 0 && g.PadLeft == 0;
        if (!tiles) dx[..(g.H * g.W * g.C)].Clear();
        else
        {
            int h = Math.Min(g.H, g.Ho * g.PoolH), w = Math.Min(g.W, g.Wo * g.PoolW), c = g.C;
            if (w < g.W)
                for (int iy = 0; iy < h; iy++) dx.Slice((iy * g.W + w) * c, (g.W - w) * c).Clear();
            dx[(h * g.W * c)..(g.H * g.W * c)].Clear();
        }
        if (g.Ho * g.Wo == 0) return;
        ref T px = ref MemoryMarshal.GetReference(x);
        ref T py = ref MemoryMarshal.GetReference(y);
        ref T pdy = ref MemoryMarshal.GetReference(dy);
        ref T pdx = ref MemoryMarshal.GetReference(dx);
        switch (width)
        {
            case 512: MaxBackward<Simd512<T>, Vector512<T>, T>(g, tiles, ref px, ref py, ref pdy, ref pdx); break;
            case 256: MaxBackward<Simd256<T>, Vector256<T>, T>(g, tiles, ref px, ref py, ref pdy, ref pdx); break;
            case 128: MaxBackward<Simd128<T>, Vector128<T>, T>(g, tiles, ref px, ref py, ref pdy, ref pdx); break;
            default: MaxBackwardScalar(g, x, y, dy, dx); break;
        }
    }

    /// <summary>dx[iy, ix, c] = Σ over the windows holding (iy, ix), in window order, of dy[oy, ox, c]·(1/n), n the
    /// window's cells inside the input.</summary>
    /// <param name="g">The windows over one sample.</param>
    /// <param name="dy">The output gradient, [Ho, Wo, C].</param>
    /// <param name="dx">Receives the input gradient, [H, W, C] (overwritten).</param>
    /// <exception cref="ArgumentException">A span is shorter than its shape.</exception>
    public static void AverageBackward<T>(in PoolWindow g, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(g, dx.Length, nameof(dx), dy.Length, nameof(dy));
        dx[..(g.H * g.W * g.C)].Clear();
        if (g.Ho * g.Wo == 0) return;
        ref T pdy = ref MemoryMarshal.GetReference(dy);
        ref T pdx = ref MemoryMarshal.GetReference(dx);
        switch (Width<T>(g.C))
        {
            case 512: AverageBackward<Simd512<T>, Vector512<T>, T>(g, ref pdy, ref pdx); break;
            case 256: AverageBackward<Simd256<T>, Vector256<T>, T>(g, ref pdy, ref pdx); break;
            case 128: AverageBackward<Simd128<T>, Vector128<T>, T>(g, ref pdy, ref pdx); break;
            default: AverageBackward<SimdScalar<T>, T, T>(g, ref pdy, ref pdx); break;
        }
    }

    /// <summary>The widest vector (in bits) that C channels fill at least once, or 0 for the span and scalar loops.</summary>
    private static int Width<T>(int c) where T : unmanaged, IFloatingPointIeee754<T> =>
        Simd512<T>.IsSupported && c >= Vector512<T>.Count ? 512
        : Simd256<T>.IsSupported && c >= Vector256<T>.Count ? 256
        : Simd128<T>.IsSupported && c >= Vector128<T>.Count ? 128 : 0;

    private static void Check(in PoolWindow g, int inputLength, string inputName, int outputLength, string outputName)
    {
        if (g.H < 0 || g.W < 0 || g.C < 0 || g.Ho < 0 || g.Wo < 0 || g.PoolH < 1 || g.PoolW < 1 || g.StrideH < 1 || g.StrideW < 1)
            throw new ArgumentException($"The pooling windows are invalid: {g}.", nameof(g));
        if (inputLength < g.H * g.W * g.C)
            throw new ArgumentException($"{inputName} holds {inputLength} values; the sample [{g.H}, {g.W}, {g.C}] needs {g.H * g.W * g.C}.", inputName);
        if (outputLength < g.Ho * g.Wo * g.C)
            throw new ArgumentException($"{outputName} holds {outputLength} values; the pooled sample [{g.Ho}, {g.Wo}, {g.C}] needs {g.Ho * g.Wo * g.C}.", outputName);
    }

    /// <summary>How a window's cells combine in the forward pass: a running value started from the first cell,
    /// folded with each later cell, then finished with the count of cells.</summary>
    private interface ICells
    {
        static abstract TV Fold<TS, TV, T>(TV acc, TV cell) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>;
        static abstract TV Finish<TS, TV, T>(TV acc, int cells) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>;
    }

    private readonly struct MaxCells : ICells
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Fold<TS, TV, T>(TV acc, TV cell) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> => TS.Max(acc, cell);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Finish<TS, TV, T>(TV acc, int cells) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> => acc;
    }

    private readonly struct MeanCells : ICells
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Fold<TS, TV, T>(TV acc, TV cell) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> => TS.Add(acc, cell);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Finish<TS, TV, T>(TV acc, int cells) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> =>
            TS.Multiply(acc, TS.Broadcast(T.One / T.CreateChecked(cells)));
    }

    private static void Forward<T, TC>(in PoolWindow g, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> where TC : struct, ICells
    {
        Check(g, x.Length, nameof(x), y.Length, nameof(y));
        if (g.Ho * g.Wo == 0) return;
        ref T px = ref MemoryMarshal.GetReference(x);
        ref T py = ref MemoryMarshal.GetReference(y);
        switch (Width<T>(g.C))
        {
            case 512: Forward<Simd512<T>, Vector512<T>, T, TC>(g, ref px, ref py); break;
            case 256: Forward<Simd256<T>, Vector256<T>, T, TC>(g, ref px, ref py); break;
            case 128: Forward<Simd128<T>, Vector128<T>, T, TC>(g, ref px, ref py); break;
            default: ForwardSpans<T, TC>(g, x, y); break;
        }
    }

    private static void Forward<TS, TV, T, TC>(in PoolWindow g, ref T x, ref T y)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TC : struct, ICells
    {
        int w = g.W, c = g.C, vc = TS.Count, last = c - vc;
        for (int oy = 0, o = 0; oy < g.Ho; oy++)
        {
            var (i0, i1) = g.Rows(oy);
            for (int ox = 0; ox < g.Wo; ox++, o += c)
            {
                var (j0, j1) = g.Columns(ox);
                for (int ch = 0; ch < c; ch += vc)
                {
                    int at = Math.Min(ch, last);
                    var m = TS.Load(ref x, (nuint)((i0 * w + j0) * c + at));
                    for (int iy = i0; iy < i1; iy++)
                        for (int ix = iy == i0 ? j0 + 1 : j0; ix < j1; ix++)
                            m = TC.Fold<TS, TV, T>(m, TS.Load(ref x, (nuint)((iy * w + ix) * c + at)));
                    TS.Store(TC.Finish<TS, TV, T>(m, (i1 - i0) * (j1 - j0)), ref y, (nuint)(o + at));
                }
            }
        }
    }

    /// <summary>The forward pass for C narrower than a vector (or no vector hardware), one span call per cell.</summary>
    private static void ForwardSpans<T, TC>(in PoolWindow g, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> where TC : struct, ICells
    {
        bool max = typeof(TC) == typeof(MaxCells);
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
                    {
                        if (max) TensorPrimitives.Max(dst, x.Slice((iy * w + ix) * c, c), dst);
                        else TensorPrimitives.Add(dst, x.Slice((iy * w + ix) * c, c), dst);
                    }
                if (!max) TensorPrimitives.Multiply(dst, T.One / T.CreateChecked((i1 - i0) * (j1 - j0)), dst);
            }
        }
    }

    /// <summary>The vector loop of <see cref="MaxBackward{T}"/>. With <paramref name="tiles"/> a cell's lanes start
    /// from +0 instead of from dx (which is not cleared) the first time they are reached (all of a whole vector, the
    /// new lanes of the overlapping last one): the same sum as adding to a cleared dx.</summary>
    private static void MaxBackward<TS, TV, T>(in PoolWindow g, bool tiles, ref T x, ref T y, ref T dy, ref T dx)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = g.W, c = g.C, vc = TS.Count, last = c - vc;
        // The last vector overlaps the one before by vc − c % vc lanes (none when C is a multiple of vc): those lanes
        // start out settled, so they add zero.
        var lastPending = TS.LanesFrom(c % vc == 0 ? 0 : vc - c % vc);
        for (int oy = 0, o = 0; oy < g.Ho; oy++)
        {
            var (i0, i1) = g.Rows(oy);
            for (int ox = 0; ox < g.Wo; ox++, o += c)
            {
                var (j0, j1) = g.Columns(ox);
                for (int ch = 0; ch < c; ch += vc)
                {
                    int at = Math.Min(ch, last);
                    var pending = at == ch ? TS.LanesFrom(0) : lastPending;
                    var ym = TS.Load(ref y, (nuint)(o + at));
                    var grad = TS.Load(ref dy, (nuint)(o + at));
                    for (int iy = i0; iy < i1; iy++)
                        for (int ix = j0; ix < j1; ix++)
                        {
                            nuint cell = (nuint)((iy * w + ix) * c + at);
                            var hit = TS.And(TS.EqualMask(TS.Load(ref x, cell), ym), pending);
                            var basis = !tiles ? TS.Load(ref dx, cell) : at == ch ? TS.Zero : TS.AndNot(TS.Load(ref dx, cell), lastPending);
                            TS.Store(TS.Add(basis, TS.And(hit, grad)), ref dx, cell);
                            pending = TS.AndNot(pending, hit);
                        }
                }
            }
        }
    }

    private static void MaxBackwardScalar<T>(in PoolWindow g, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
        where T : unmanaged, IFloatingPointIeee754<T>
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

    /// <summary>The loop of <see cref="AverageBackward{T}"/> on a cleared dx, at one width (scalars for C narrower
    /// than a vector). The lanes by which the last vector overlaps the one before are kept as they were.</summary>
    private static void AverageBackward<TS, TV, T>(in PoolWindow g, ref T dy, ref T dx)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = g.W, c = g.C, vc = TS.Count, last = c - vc;
        var fresh = TS.LanesFrom(c % vc == 0 ? 0 : vc - c % vc);
        for (int oy = 0, o = 0; oy < g.Ho; oy++)
        {
            var (i0, i1) = g.Rows(oy);
            for (int ox = 0; ox < g.Wo; ox++, o += c)
            {
                var (j0, j1) = g.Columns(ox);
                var inv = TS.Broadcast(T.One / T.CreateChecked((i1 - i0) * (j1 - j0)));
                for (int ch = 0; ch < c; ch += vc)
                {
                    int at = Math.Min(ch, last);
                    var share = TS.Multiply(TS.Load(ref dy, (nuint)(o + at)), inv);
                    for (int iy = i0; iy < i1; iy++)
                        for (int ix = j0; ix < j1; ix++)
                        {
                            nuint cell = (nuint)((iy * w + ix) * c + at);
                            var d = TS.Load(ref dx, cell);
                            var sum = TS.Add(d, share);
                            TS.Store(at == ch ? sum : TS.Select(fresh, sum, d), ref dx, cell);
                        }
                }
            }
        }
    }
}
