using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Nn.Simd.Tensors.Kernels.Common;

/// <summary>
/// Column sums of a row-major <c>[rows, columns]</c> matrix: <c>destination[j] (+)= Σ_r x[r, j]</c>.
/// </summary>
/// <remarks>
/// A column block of four vectors is summed over all rows in registers and stored once, so <c>x</c> is read once
/// and the destination written once (adding row by row into the destination would read and write it per row).
/// The last, overlapping column vector is summed first, starting from the destination's original values, and
/// stored last: with <c>accumulate</c> the overlapping lanes are not added twice, and they end up with the value
/// the main loop computed in the same order. The destination must not overlap <c>x</c>.
/// </remarks>
internal static class ColumnLoop
{
    public static void Sum<T>(ReadOnlySpan<T> x, int columns, Span<T> destination, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = x.Length / columns;
        ref T px = ref MemoryMarshal.GetReference(x);
        ref T pd = ref MemoryMarshal.GetReference(destination);
        if (Simd512<T>.IsSupported && columns >= Simd512<T>.Count)
            Vectorized<T, Simd512<T>, Vector512<T>>(ref px, rows, columns, ref pd, accumulate);
        else if (Simd256<T>.IsSupported && columns >= Simd256<T>.Count)
            Vectorized<T, Simd256<T>, Vector256<T>>(ref px, rows, columns, ref pd, accumulate);
        else if (Simd128<T>.IsSupported && columns >= Simd128<T>.Count)
            Vectorized<T, Simd128<T>, Vector128<T>>(ref px, rows, columns, ref pd, accumulate);
        else
        {
            for (int j = 0; j < columns; j++)
            {
                T acc = accumulate ? destination[j] : T.Zero;
                for (int r = 0; r < rows; r++) acc += x[r * columns + j];
                destination[j] = acc;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Vectorized<T, TSimd, TVector>(ref T px, int rows, int columns, ref T pd, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T> where TSimd : ISimd<TVector, T> where TVector : struct
    {
        nuint w = (nuint)TSimd.Count, cols = (nuint)columns, last = cols - w;
        TVector end = accumulate ? TSimd.Load(ref pd, last) : TSimd.Zero;
        for (nuint r = 0, row = last; r < (nuint)rows; r++, row += cols) end = TSimd.Add(end, TSimd.Load(ref px, row));

        nuint j = 0;
        for (; j + 4 * w <= cols; j += 4 * w)
        {
            TVector a0, a1, a2, a3;
            if (accumulate)
            {
                a0 = TSimd.Load(ref pd, j); a1 = TSimd.Load(ref pd, j + w);
                a2 = TSimd.Load(ref pd, j + 2 * w); a3 = TSimd.Load(ref pd, j + 3 * w);
            }
            else a0 = a1 = a2 = a3 = TSimd.Zero;
            for (nuint r = 0, row = j; r < (nuint)rows; r++, row += cols)
            {
                a0 = TSimd.Add(a0, TSimd.Load(ref px, row));
                a1 = TSimd.Add(a1, TSimd.Load(ref px, row + w));
                a2 = TSimd.Add(a2, TSimd.Load(ref px, row + 2 * w));
                a3 = TSimd.Add(a3, TSimd.Load(ref px, row + 3 * w));
            }
            TSimd.Store(a0, ref pd, j); TSimd.Store(a1, ref pd, j + w);
            TSimd.Store(a2, ref pd, j + 2 * w); TSimd.Store(a3, ref pd, j + 3 * w);
        }
        for (; j + w <= cols; j += w)
        {
            TVector a = accumulate ? TSimd.Load(ref pd, j) : TSimd.Zero;
            for (nuint r = 0, row = j; r < (nuint)rows; r++, row += cols) a = TSimd.Add(a, TSimd.Load(ref px, row));
            TSimd.Store(a, ref pd, j);
        }
        if (j < cols) TSimd.Store(end, ref pd, last);
    }
}
