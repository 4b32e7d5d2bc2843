using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

// A [k, m] with few columns m, B [k, n], both row-major; C [m, n] = Aᵀ·B.

/// <summary>
/// <c>C = Aᵀ·B</c> for an A with few columns (a narrow C): each element a dot product of a column of A and a column
/// of B, read in place. A recurrent layer's input-weight gradient <c>[dW; db] = [x, 1]ᵀ·dZ</c>
/// (<c>[F+1, T·B]·[T·B, G·H]</c> with few features F) is that shape: the GEMM would pack all of dZ (a few MiB,
/// most of its time at F ≈ 5) for a product of a few MFLOP, on one thread, since C has a single row panel.
/// </summary>
/// <remarks>
/// <para>The loop runs over the rows of A and B once per register tile of three rows × four vectors of C (12
/// accumulators; per row of B four loads, three broadcasts and twelve fused multiply-adds). For each block of four
/// vector columns, B's part (256 bytes a row) is read from memory by the first group of three rows and from cache by
/// the others.</para>
/// <para>Each element is the same sequence of operations whichever block, vector width or column range computes
/// it: a fused multiply-add chain in row order from zero (a vector lane and the scalar tail round alike). So a
/// caller may split the columns across threads and get the same bits. It is not bitwise equal to
/// <see cref="Gemm"/>'s result (the GEMM cuts the chain every <see cref="GemmEpilogue.ChainDepth"/> rows).</para>
/// </remarks>
public static class ColumnDots
{
    /// <summary>The most columns of A (rows of C) that <see cref="TransposeMultiply{T}"/> takes: beyond this the GEMM,
    /// which reads B once for all rows of C, is the better tool.</summary>
    public const int MaxColumns = 24;

    /// <summary>Computes <c>c[i, j] = Σ_p a[p, i]·b[p, j]</c> for every i and the columns
    /// <c>j0 ≤ j &lt; j1</c>, overwriting those elements of C.</summary>
    /// <param name="a">A, <c>[k, m]</c>.</param>
    /// <param name="b">B, <c>[k, n]</c>.</param>
    /// <param name="c">C, <c>[m, n]</c>.</param>
    /// <param name="m">Columns of A, rows of C; at most <see cref="MaxColumns"/>.</param>
    /// <param name="n">Columns of B and C.</param>
    /// <param name="k">Rows of A and B.</param>
    /// <param name="j0">The first column of C to compute.</param>
    /// <param name="j1">One past the last column of C to compute.</param>
    /// <exception cref="ArgumentException">A dimension is negative, m is above <see cref="MaxColumns"/>, the column
    /// range is not inside [0, n], or a span is too short for its shape.</exception>
    public static void TransposeMultiply<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k, int j0, int j1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(m, MaxColumns);
        LstmGates.CheckLength(a.Length, k, m, nameof(a));
        LstmGates.CheckLength(b.Length, k, n, nameof(b));
        LstmGates.CheckLength(c.Length, m, n, nameof(c));
        if (j0 < 0 || j1 < j0 || j1 > n)
            throw new ArgumentException($"The column range [{j0}, {j1}) is not inside [0, {n}].", nameof(j0));
        if (m == 0 || j1 == j0) return;
        ref T pa = ref MemoryMarshal.GetReference(a);
        ref T pb = ref MemoryMarshal.GetReference(b);
        ref T pc = ref MemoryMarshal.GetReference(c);
        int j = j0;
        if (Simd512<T>.IsSupported) j = Columns<T, Simd512<T>, Vector512<T>>(ref pa, ref pb, ref pc, m, n, k, j, j1);
        if (Simd256<T>.IsSupported) j = Columns<T, Simd256<T>, Vector256<T>>(ref pa, ref pb, ref pc, m, n, k, j, j1);
        Columns<T, SimdScalar<T>, T>(ref pa, ref pb, ref pc, m, n, k, j, j1);
    }

    /// <summary>Whole vectors of columns from <paramref name="j"/> on, in blocks of four and then one; returns the
    /// first column not done.</summary>
    private static int Columns<T, TS, TV>(ref T a, ref T b, ref T c, int m, int n, int k, int j, int j1)
        where T : unmanaged, IFloatingPointIeee754<T> where TS : ISimd<TV, T> where TV : struct
    {
        int w = TS.Count;
        for (; j + 4 * w <= j1; j += 4 * w) RowGroups<T, TS, TV, Four>(ref a, ref b, ref c, m, n, k, j);
        for (; j + w <= j1; j += w) RowGroups<T, TS, TV, One>(ref a, ref b, ref c, m, n, k, j);
        return j;
    }

    /// <summary>One block of C's columns for all its rows, three rows at a time (a block's rows of B, 256 bytes each
    /// with four 512-bit vectors, are read from L1 or L2 again for each group after the first).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowGroups<T, TS, TV, TVec>(ref T a, ref T b, ref T c, int m, int n, int k, int j)
        where T : unmanaged, IFloatingPointIeee754<T> where TS : ISimd<TV, T> where TV : struct where TVec : struct, IVectors
    {
        int i = 0;
        for (; i + 3 <= m; i += 3) Block<T, TS, TV, TVec, Three>(ref a, ref b, ref c, m, n, k, i, j);
        if (m - i == 2) Block<T, TS, TV, TVec, Two>(ref a, ref b, ref c, m, n, k, i, j);
        else if (m - i == 1) Block<T, TS, TV, TVec, One>(ref a, ref b, ref c, m, n, k, i, j);
    }

    private interface ICount { static abstract int Count { get; } }
    private interface IVectors : ICount;
    private struct One : IVectors { public static int Count => 1; }
    private struct Two : IVectors { public static int Count => 2; }
    private struct Three : IVectors { public static int Count => 3; }
    private struct Four : IVectors { public static int Count => 4; }

    /// <summary>Rows <c>[i, i + TRows)</c> and columns <c>[j, j + TVec·w)</c> of C, in registers over all k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<T, TS, TV, TVec, TRows>(ref T a, ref T b, ref T c, int m, int n, int k, int i, int j)
        where T : unmanaged, IFloatingPointIeee754<T> where TS : ISimd<TV, T> where TV : struct
        where TVec : struct, IVectors where TRows : struct, IVectors
    {
        nuint w = (nuint)TS.Count, nn = (nuint)n, mm = (nuint)m;
        int v = TVec.Count, r = TRows.Count;
        TV c00 = TS.Zero, c01 = TS.Zero, c02 = TS.Zero, c03 = TS.Zero;
        TV c10 = TS.Zero, c11 = TS.Zero, c12 = TS.Zero, c13 = TS.Zero;
        TV c20 = TS.Zero, c21 = TS.Zero, c22 = TS.Zero, c23 = TS.Zero;
        ref T bRow = ref Unsafe.Add(ref b, (nuint)j);
        ref T aRow = ref Unsafe.Add(ref a, (nuint)i);
        for (int p = 0; p < k; p++)
        {
            TV b0 = TS.Load(ref bRow, 0);
            TV b1 = v > 1 ? TS.Load(ref bRow, w) : TS.Zero;
            TV b2 = v > 2 ? TS.Load(ref bRow, 2 * w) : TS.Zero;
            TV b3 = v > 3 ? TS.Load(ref bRow, 3 * w) : TS.Zero;
            TV x = TS.Broadcast(aRow);
            c00 = TS.FusedMultiplyAdd(x, b0, c00);
            if (v > 1) c01 = TS.FusedMultiplyAdd(x, b1, c01);
            if (v > 2) c02 = TS.FusedMultiplyAdd(x, b2, c02);
            if (v > 3) c03 = TS.FusedMultiplyAdd(x, b3, c03);
            if (r > 1)
            {
                x = TS.Broadcast(Unsafe.Add(ref aRow, 1));
                c10 = TS.FusedMultiplyAdd(x, b0, c10);
                if (v > 1) c11 = TS.FusedMultiplyAdd(x, b1, c11);
                if (v > 2) c12 = TS.FusedMultiplyAdd(x, b2, c12);
                if (v > 3) c13 = TS.FusedMultiplyAdd(x, b3, c13);
            }
            if (r > 2)
            {
                x = TS.Broadcast(Unsafe.Add(ref aRow, 2));
                c20 = TS.FusedMultiplyAdd(x, b0, c20);
                if (v > 1) c21 = TS.FusedMultiplyAdd(x, b1, c21);
                if (v > 2) c22 = TS.FusedMultiplyAdd(x, b2, c22);
                if (v > 3) c23 = TS.FusedMultiplyAdd(x, b3, c23);
            }
            bRow = ref Unsafe.Add(ref bRow, nn);
            aRow = ref Unsafe.Add(ref aRow, mm);
        }
        ref T c0 = ref Unsafe.Add(ref c, (nuint)i * nn + (nuint)j);
        Store<T, TS, TV>(ref c0, w, v, c00, c01, c02, c03);
        if (r > 1) Store<T, TS, TV>(ref Unsafe.Add(ref c0, nn), w, v, c10, c11, c12, c13);
        if (r > 2) Store<T, TS, TV>(ref Unsafe.Add(ref c0, 2 * nn), w, v, c20, c21, c22, c23);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T, TS, TV>(ref T c, nuint w, int v, TV x0, TV x1, TV x2, TV x3)
        where T : unmanaged, IFloatingPointIeee754<T> where TS : ISimd<TV, T> where TV : struct
    {
        TS.Store(x0, ref c, 0);
        if (v > 1) TS.Store(x1, ref c, w);
        if (v > 2) TS.Store(x2, ref c, 2 * w);
        if (v > 3) TS.Store(x3, ref c, 3 * w);
    }
}
