using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Nn.Simd.Layers;

/// <summary>
/// The geometry of one sample's patch matrix: a kernel of (kh, kw) taps, dh rows and dw columns apart, slid with strides
/// (sh, sw) over a channels-last image [h, w, c] padded by (padTop, padLeft) before its first row and column, giving the
/// grid [ho, wo] of patches. Patch (oy, ox) is row oy·wo + ox of the matrix, in the kernel's (i, j, c) order, so a row
/// holds p = kh·kw·c values; tap (i, j) reads pixel (oy·sh + i·dh − padTop, ox·sw + j·dw − padLeft), zero off the image.
/// </summary>
/// <remarks>A convolution reads its input through this geometry (<see cref="Patches{T}.Im2Col"/>) and scatters its input
/// gradient back through it (<see cref="Patches{T}.Col2Im"/>); a transposed convolution does the same with the roles
/// swapped: its output is the image and its input the grid.</remarks>
internal readonly record struct PatchGeometry(int H, int W, int C, int Ho, int Wo, int Kh, int Kw, int Sh, int Sw, int Dh, int Dw, int PadTop, int PadLeft)
{
    /// <summary>p = kh·kw·c, the values in one patch.</summary>
    public int P => Kh * Kw * C;
}

/// <summary>im2col and col2im over one channels-last sample (see <see cref="PatchGeometry"/>), shared by the convolution
/// layers.</summary>
internal static class Patches<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>im2col: row (oy, ox) of <paramref name="cols"/> [ho·wo, p] holds the patch in (i, j, c) order, zeros where
    /// it hangs over the padding.</summary>
    /// <param name="g">The geometry.</param>
    /// <param name="image">One sample's image, h·w·c values.</param>
    /// <param name="cols">Its patch matrix, ho·wo·p values.</param>
    /// <remarks>Kernel row by kernel row across an output row, so the input row and its bounds are worked out once
    /// per (oy, i) rather than once per patch; the copies go through refs (the spans are checked against the geometry
    /// once, up front). With one input channel a kernel row is only kw values, and slicing per patch cost more than the
    /// copy.</remarks>
    public static void Im2Col(in PatchGeometry g, ReadOnlySpan<T> image, Span<T> cols)
    {
        int h = g.H, w = g.W, c = g.C, kh = g.Kh, kw = g.Kw, p = g.P, dh = g.Dh, dw = g.Dw;
        int sh = g.Sh, sw = g.Sw, run = kw * c, wo = g.Wo, padTop = g.PadTop, padLeft = g.PadLeft;
        if (image.Length < h * w * c || cols.Length < g.Ho * wo * p)
            throw new ArgumentException($"im2col needs {h * w * c} image values and {g.Ho * wo * p} patch values; got {image.Length} and {cols.Length}.");
        ref T x0 = ref MemoryMarshal.GetReference(image);
        ref T cols0 = ref MemoryMarshal.GetReference(cols);
        for (int oy = 0; oy < g.Ho; oy++)
        {
            ref T outRow = ref Unsafe.Add(ref cols0, oy * wo * p);
            for (int i = 0; i < kh; i++)
            {
                int iy = oy * sh + i * dh - padTop;
                if ((uint)iy >= (uint)h)
                {
                    for (int ox = 0; ox < wo; ox++) MemoryMarshal.CreateSpan(ref Unsafe.Add(ref outRow, ox * p + i * run), run).Clear();
                    continue;
                }
                ref T xRow = ref Unsafe.Add(ref x0, iy * w * c);
                for (int ox = 0; ox < wo; ox++)
                {
                    ref T seg = ref Unsafe.Add(ref outRow, ox * p + i * run);
                    int ix0 = ox * sw - padLeft;
                    if (dw == 1 && ix0 >= 0 && ix0 + kw <= w)
                    {
                        // The kw pixels are contiguous: one short copy (a memmove call costs more than the copy).
                        CopyShort(ref Unsafe.Add(ref xRow, ix0 * c), ref seg, run);
                        continue;
                    }
                    for (int j = 0; j < kw; j++)
                    {
                        int ix = ix0 + j * dw;
                        var px = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref seg, j * c), c);
                        if ((uint)ix >= (uint)w) px.Clear();
                        else MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref xRow, ix * c), c).CopyTo(px);
                    }
                }
            }
        }
    }

    /// <summary>col2im: <paramref name="image"/> is cleared, then every patch row of <paramref name="cols"/> is added back
    /// onto the pixels it came from (taps over the padding are dropped), so the image is the sum of its patches.</summary>
    /// <param name="g">The geometry.</param>
    /// <param name="cols">One sample's patch matrix, ho·wo·p values.</param>
    /// <param name="image">Its image, h·w·c values.</param>
    public static void Col2Im(in PatchGeometry g, ReadOnlySpan<T> cols, Span<T> image)
    {
        int h = g.H, w = g.W, c = g.C, kh = g.Kh, kw = g.Kw, p = g.P, dh = g.Dh, dw = g.Dw;
        int sh = g.Sh, sw = g.Sw, padTop = g.PadTop, padLeft = g.PadLeft;
        if (image.Length < h * w * c || cols.Length < g.Ho * g.Wo * p)
            throw new ArgumentException($"col2im needs {g.Ho * g.Wo * p} patch values and {h * w * c} image values; got {cols.Length} and {image.Length}.");
        image[..(h * w * c)].Clear();
        // The short runs are added through refs (a TensorPrimitives call per kernel row cost more than its few vectors
        // of arithmetic).
        ref T r0 = ref MemoryMarshal.GetReference(cols);
        ref T dx0 = ref MemoryMarshal.GetReference(image);
        for (int oy = 0, r = 0; oy < g.Ho; oy++)
            for (int ox = 0; ox < g.Wo; ox++, r++)
            {
                for (int i = 0; i < kh; i++)
                {
                    int iy = oy * sh + i * dh - padTop;
                    if ((uint)iy >= (uint)h) continue;
                    int ix0 = ox * sw - padLeft;
                    if (dw == 1 && ix0 >= 0 && ix0 + kw <= w)
                    {
                        // The kw pixels of this kernel row are contiguous in x, as in im2col.
                        AddShort(ref Unsafe.Add(ref r0, r * p + i * kw * c), ref Unsafe.Add(ref dx0, (iy * w + ix0) * c), kw * c);
                        continue;
                    }
                    for (int j = 0; j < kw; j++)
                    {
                        int ix = ix0 + j * dw;
                        if ((uint)ix >= (uint)w) continue;
                        AddShort(ref Unsafe.Add(ref r0, r * p + (i * kw + j) * c), ref Unsafe.Add(ref dx0, (iy * w + ix) * c), c);
                    }
                }
            }
    }

    /// <summary>dst[0..length) = src[0..length) for a short run (a kernel row of one patch, a bias row): whole vectors
    /// and one last vector that overlaps the previous one, or element by element below one 128-bit vector. The runs
    /// must not overlap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CopyShort(ref T src, ref T dst, int length)
    {
        if (Vector512<T>.IsSupported && Vector512.IsHardwareAccelerated && length >= Vector512<T>.Count)
        {
            nuint last = (nuint)(length - Vector512<T>.Count);
            for (nuint i = 0; i < last; i += (nuint)Vector512<T>.Count) Vector512.LoadUnsafe(ref src, i).StoreUnsafe(ref dst, i);
            Vector512.LoadUnsafe(ref src, last).StoreUnsafe(ref dst, last);
        }
        else if (Vector256<T>.IsSupported && Vector256.IsHardwareAccelerated && length >= Vector256<T>.Count)
        {
            nuint last = (nuint)(length - Vector256<T>.Count);
            for (nuint i = 0; i < last; i += (nuint)Vector256<T>.Count) Vector256.LoadUnsafe(ref src, i).StoreUnsafe(ref dst, i);
            Vector256.LoadUnsafe(ref src, last).StoreUnsafe(ref dst, last);
        }
        else if (Vector128<T>.IsSupported && Vector128.IsHardwareAccelerated && length >= Vector128<T>.Count)
        {
            nuint last = (nuint)(length - Vector128<T>.Count);
            for (nuint i = 0; i < last; i += (nuint)Vector128<T>.Count) Vector128.LoadUnsafe(ref src, i).StoreUnsafe(ref dst, i);
            Vector128.LoadUnsafe(ref src, last).StoreUnsafe(ref dst, last);
        }
        else
        {
            for (int i = 0; i < length; i++) Unsafe.Add(ref dst, i) = Unsafe.Add(ref src, i);
        }
    }

    /// <summary>dst[i] += src[i] for i in [0, length), a short run: whole vectors, narrower vectors, then element by
    /// element (each element gets the one addition TensorPrimitives.Add would give it). The runs must not overlap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddShort(ref T src, ref T dst, int length)
    {
        nuint i = 0, n = (nuint)length;
        if (Vector512<T>.IsSupported && Vector512.IsHardwareAccelerated)
            for (; i + (nuint)Vector512<T>.Count <= n; i += (nuint)Vector512<T>.Count)
                (Vector512.LoadUnsafe(ref dst, i) + Vector512.LoadUnsafe(ref src, i)).StoreUnsafe(ref dst, i);
        if (Vector256<T>.IsSupported && Vector256.IsHardwareAccelerated)
            for (; i + (nuint)Vector256<T>.Count <= n; i += (nuint)Vector256<T>.Count)
                (Vector256.LoadUnsafe(ref dst, i) + Vector256.LoadUnsafe(ref src, i)).StoreUnsafe(ref dst, i);
        if (Vector128<T>.IsSupported && Vector128.IsHardwareAccelerated)
            for (; i + (nuint)Vector128<T>.Count <= n; i += (nuint)Vector128<T>.Count)
                (Vector128.LoadUnsafe(ref dst, i) + Vector128.LoadUnsafe(ref src, i)).StoreUnsafe(ref dst, i);
        for (; i < n; i++) Unsafe.Add(ref dst, i) += Unsafe.Add(ref src, i);
    }
}
