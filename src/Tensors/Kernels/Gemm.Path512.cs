using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>
/// The AVX-512 (<see cref="Vector512{T}"/>) path of the GEMM: a register tile of up to 8 rows × 2 vectors of C, broadcasting A
/// elements read in place and loading B from a packed panel.
/// </summary>
/// <remarks>
/// <para>Per k step the tile does one load per B vector, one broadcast per A row and one FMA per
/// accumulator; the accumulators never leave registers until the epilogue.</para>
/// <para>Each accumulator is one fused multiply-add chain over k in increasing order, starting from zero, and
/// the epilogue is <see cref="GemmEpilogue"/>'s; so an element's value does not depend on which tile or
/// thread computed it.</para>
/// <para>This file is generated from the same template as its sibling paths (only the vector type and the
/// row count differ); edit all three together.</para>
/// </remarks>
internal struct GemmPath512 : IGemmPath
{
    public static GemmIsa Isa => GemmIsa.Vector512;

    public static int MaxRows => 8;

    public static int Lanes<T>() where T : unmanaged, IFloatingPointIeee754<T> => Vector512<T>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void CopyPanelRow<T>(T* src, T* dst) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int v = Vector512<T>.Count;
        Vector512.Store(Vector512.Load(src), dst);
        Vector512.Store(Vector512.Load(src + v), dst + v);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Kernel<T, TRows, TA>(int kc, T* a, nint lda, T* b, nint ldbPanel, T* c, nint ldc, int cols,
        T alpha, T beta, int mode)
        where T : unmanaged, IFloatingPointIeee754<T> where TRows : struct, IRows where TA : struct, IAOrder
    {
        nint v = Vector512<T>.Count;
        nint nr = 2 * v;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<T> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<T> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<T> c60 = default, c61 = default, c70 = default, c71 = default;
        Vector512<T> x;
        if (TA.Transposed)
        {
            // op(A) column p is contiguous: a[p·lda + 0..rows).
            for (int p = 0; p < kc; p++)
            {
                Vector512<T> b0 = Vector512.Load(b), b1 = Vector512.Load(b + v);
                x = Vector512.Create(a[0]); c00 = VectorFma.Fma(x, b0, c00); c01 = VectorFma.Fma(x, b1, c01);
                if (TRows.Count > 1) { x = Vector512.Create(a[1]); c10 = VectorFma.Fma(x, b0, c10); c11 = VectorFma.Fma(x, b1, c11); }
                if (TRows.Count > 2)
                {
                    x = Vector512.Create(a[2]); c20 = VectorFma.Fma(x, b0, c20); c21 = VectorFma.Fma(x, b1, c21);
                    x = Vector512.Create(a[3]); c30 = VectorFma.Fma(x, b0, c30); c31 = VectorFma.Fma(x, b1, c31);
                }
                if (TRows.Count > 4)
                {
                    x = Vector512.Create(a[4]); c40 = VectorFma.Fma(x, b0, c40); c41 = VectorFma.Fma(x, b1, c41);
                    x = Vector512.Create(a[5]); c50 = VectorFma.Fma(x, b0, c50); c51 = VectorFma.Fma(x, b1, c51);
                    x = Vector512.Create(a[6]); c60 = VectorFma.Fma(x, b0, c60); c61 = VectorFma.Fma(x, b1, c61);
                    x = Vector512.Create(a[7]); c70 = VectorFma.Fma(x, b0, c70); c71 = VectorFma.Fma(x, b1, c71);
                }
                a += lda;
                b += ldbPanel;
            }
        }
        else
        {
            // op(A) rows are A's rows, read in place through one pointer each (no packing of A).
            T* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda;
            T* a4 = a3 + lda, a5 = a4 + lda, a6 = a5 + lda, a7 = a6 + lda;
            for (nint p = 0; p < kc; p++)
            {
                Vector512<T> b0 = Vector512.Load(b), b1 = Vector512.Load(b + v);
                x = Vector512.Create(a[p]); c00 = VectorFma.Fma(x, b0, c00); c01 = VectorFma.Fma(x, b1, c01);
                if (TRows.Count > 1) { x = Vector512.Create(a1[p]); c10 = VectorFma.Fma(x, b0, c10); c11 = VectorFma.Fma(x, b1, c11); }
                if (TRows.Count > 2)
                {
                    x = Vector512.Create(a2[p]); c20 = VectorFma.Fma(x, b0, c20); c21 = VectorFma.Fma(x, b1, c21);
                    x = Vector512.Create(a3[p]); c30 = VectorFma.Fma(x, b0, c30); c31 = VectorFma.Fma(x, b1, c31);
                }
                if (TRows.Count > 4)
                {
                    x = Vector512.Create(a4[p]); c40 = VectorFma.Fma(x, b0, c40); c41 = VectorFma.Fma(x, b1, c41);
                    x = Vector512.Create(a5[p]); c50 = VectorFma.Fma(x, b0, c50); c51 = VectorFma.Fma(x, b1, c51);
                    x = Vector512.Create(a6[p]); c60 = VectorFma.Fma(x, b0, c60); c61 = VectorFma.Fma(x, b1, c61);
                    x = Vector512.Create(a7[p]); c70 = VectorFma.Fma(x, b0, c70); c71 = VectorFma.Fma(x, b1, c71);
                }
                b += ldbPanel;
            }
        }

        if (cols == nr)
        {
            Vector512<T> va = Vector512.Create(alpha), vb = Vector512.Create(beta);
            StoreRow(c, c00, c01, va, vb, mode);
            if (TRows.Count > 1) StoreRow(c + ldc, c10, c11, va, vb, mode);
            if (TRows.Count > 2)
            {
                StoreRow(c + 2 * ldc, c20, c21, va, vb, mode);
                StoreRow(c + 3 * ldc, c30, c31, va, vb, mode);
            }
            if (TRows.Count > 4)
            {
                StoreRow(c + 4 * ldc, c40, c41, va, vb, mode);
                StoreRow(c + 5 * ldc, c50, c51, va, vb, mode);
                StoreRow(c + 6 * ldc, c60, c61, va, vb, mode);
                StoreRow(c + 7 * ldc, c70, c71, va, vb, mode);
            }
        }
        else
        {
            StorePartialRow(c, c00, c01, cols, alpha, beta, mode);
            if (TRows.Count > 1) StorePartialRow(c + ldc, c10, c11, cols, alpha, beta, mode);
            if (TRows.Count > 2)
            {
                StorePartialRow(c + 2 * ldc, c20, c21, cols, alpha, beta, mode);
                StorePartialRow(c + 3 * ldc, c30, c31, cols, alpha, beta, mode);
            }
            if (TRows.Count > 4)
            {
                StorePartialRow(c + 4 * ldc, c40, c41, cols, alpha, beta, mode);
                StorePartialRow(c + 5 * ldc, c50, c51, cols, alpha, beta, mode);
                StorePartialRow(c + 6 * ldc, c60, c61, cols, alpha, beta, mode);
                StorePartialRow(c + 7 * ldc, c70, c71, cols, alpha, beta, mode);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreRow<T>(T* c, Vector512<T> x0, Vector512<T> x1, Vector512<T> va, Vector512<T> vb, int mode)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int v = Vector512<T>.Count;
        if (mode == GemmEpilogue.Overwrite)
        {
            Vector512.Store(va * x0, c);
            Vector512.Store(va * x1, c + v);
        }
        else if (mode == GemmEpilogue.Scale)
        {
            Vector512.Store(VectorFma.Fma(va, x0, vb * Vector512.Load(c)), c);
            Vector512.Store(VectorFma.Fma(va, x1, vb * Vector512.Load(c + v)), c + v);
        }
        else
        {
            Vector512.Store(VectorFma.Fma(va, x0, Vector512.Load(c)), c);
            Vector512.Store(VectorFma.Fma(va, x1, Vector512.Load(c + v)), c + v);
        }
    }

    // Edge tiles (fewer than NR valid columns) go through a small stack tile and the scalar epilogue.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe void StorePartialRow<T>(T* c, Vector512<T> x0, Vector512<T> x1, int cols, T alpha, T beta, int mode)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int v = Vector512<T>.Count;
        T* tile = stackalloc T[2 * v];
        Vector512.Store(x0, tile);
        Vector512.Store(x1, tile + v);
        GemmEpilogue.ApplyPartial(tile, c, cols, alpha, beta, mode);
    }
}
