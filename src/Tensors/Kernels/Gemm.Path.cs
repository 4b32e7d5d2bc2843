using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>
/// The GEMM micro-kernel at one vector width (<typeparamref name="TSimd"/> over <typeparamref name="TVector"/>:
/// <see cref="Vector512{T}"/> with an 8-row tile, <see cref="Vector256{T}"/> or <see cref="Vector128{T}"/> with a
/// 4-row tile): a register tile of up to <typeparamref name="TMaxRows"/> rows × 2 vectors of C, broadcasting A
/// elements read in place and loading B from a packed panel.
/// </summary>
/// <remarks>
/// <para>Per k step the tile does one load per B vector, one broadcast per A row and one FMA per
/// accumulator; the accumulators never leave registers until the epilogue. Every member of
/// <typeparamref name="TSimd"/> is a static method on a struct, so the JIT specialises this code per width and
/// inlines the operations: the generated code is the same as hand-written <c>Vector512</c> code.</para>
/// <para>Each accumulator is one fused multiply-add chain over k in increasing order, starting from zero, and
/// the epilogue is <see cref="GemmEpilogue"/>'s; so an element's value does not depend on which tile or
/// thread computed it.</para>
/// </remarks>
internal struct GemmPath<T, TSimd, TVector, TMaxRows> : IGemmPath<T>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TSimd : struct, ISimd<TVector, T>
    where TVector : struct
    where TMaxRows : struct, IRows
{
    public static int MaxRows => TMaxRows.Count;

    public static int Lanes => TSimd.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void CopyPanelRow(T* src, T* dst)
    {
        nuint v = (nuint)TSimd.Count;
        TSimd.Store(TSimd.Load(ref *src, 0), ref *dst, 0);
        TSimd.Store(TSimd.Load(ref *src, v), ref *dst, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void CopyHalfPanelRow(T* src, T* dst)
    {
        TSimd.Store(TSimd.Load(ref *src, 0), ref *dst, 0);
        TSimd.Store(TSimd.Zero, ref *dst, (nuint)TSimd.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void KernelNarrow<TRows, TA>(int kc, T* a, nint lda, T* b, nint ldbPanel, T* c, nint ldc, int cols,
        T alpha, T beta, int mode, T* edge)
        where TRows : struct, IRows where TA : struct, IAOrder
    {
        TVector c0 = TSimd.Zero, c1 = TSimd.Zero, c2 = TSimd.Zero, c3 = TSimd.Zero;
        TVector c4 = TSimd.Zero, c5 = TSimd.Zero, c6 = TSimd.Zero, c7 = TSimd.Zero;
        TVector b0;
        if (TA.Transposed)
        {
            for (int p = 0; p < kc; p++)
            {
                b0 = TSimd.Load(ref *b, 0);
                c0 = TSimd.FusedMultiplyAdd(TSimd.Broadcast(a[0]), b0, c0);
                if (TRows.Count > 1) c1 = TSimd.FusedMultiplyAdd(TSimd.Broadcast(a[1]), b0, c1);
                if (TRows.Count > 2)
                {
                    c2 = TSimd.FusedMultiplyAdd(TSimd.Broadcast(a[2]), b0, c2);
                    c3 = TSimd.FusedMultiplyAdd(TSimd.Broadcast(a[3]), b0, c3);
                }
                if (TRows.Count > 4)
                {
                    c4 = TSimd.FusedMultiplyAdd(TSimd.Broadcast(a[4]), b0, c4);
                    c5 = TSimd.FusedMultiplyAdd(TSimd.Broadcast(a[5]), b0, c5);
                    c6 = TSimd.FusedMultiplyAdd(TSimd.Broadcast(a[6]), b0, c6);
                    c7 = TSimd.FusedMultiplyAdd(TSimd.Broadcast(a[7]), b0, c7);
                }
                a += lda;
                b += ldbPanel;
            }
        }
        else
        {
            T* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda;
            T* a4 = a3 + lda, a5 = a4 + lda, a6 = a5 + lda, a7 = a6 + lda;
            for (nint p = 0; p < kc; p++)
            {
                b0 = TSimd.Load(ref *b, 0);
                c0 = TSimd.FusedMultiplyAdd(TSimd.Broadcast(a[p]), b0, c0);
                if (TRows.Count > 1) c1 = TSimd.FusedMultiplyAdd(TSimd.Broadcast(a1[p]), b0, c1);
                if (TRows.Count > 2)
                {
                    c2 = TSimd.FusedMultiplyAdd(TSimd.Broadcast(a2[p]), b0, c2);
                    c3 = TSimd.FusedMultiplyAdd(TSimd.Broadcast(a3[p]), b0, c3);
                }
                if (TRows.Count > 4)
                {
                    c4 = TSimd.FusedMultiplyAdd(TSimd.Broadcast(a4[p]), b0, c4);
                    c5 = TSimd.FusedMultiplyAdd(TSimd.Broadcast(a5[p]), b0, c5);
                    c6 = TSimd.FusedMultiplyAdd(TSimd.Broadcast(a6[p]), b0, c6);
                    c7 = TSimd.FusedMultiplyAdd(TSimd.Broadcast(a7[p]), b0, c7);
                }
                b += ldbPanel;
            }
        }

        if (cols == TSimd.Count)
        {
            TVector va = TSimd.Broadcast(alpha), vb = TSimd.Broadcast(beta);
            StoreOne(c, c0, va, vb, mode);
            if (TRows.Count > 1) StoreOne(c + ldc, c1, va, vb, mode);
            if (TRows.Count > 2)
            {
                StoreOne(c + 2 * ldc, c2, va, vb, mode);
                StoreOne(c + 3 * ldc, c3, va, vb, mode);
            }
            if (TRows.Count > 4)
            {
                StoreOne(c + 4 * ldc, c4, va, vb, mode);
                StoreOne(c + 5 * ldc, c5, va, vb, mode);
                StoreOne(c + 6 * ldc, c6, va, vb, mode);
                StoreOne(c + 7 * ldc, c7, va, vb, mode);
            }
        }
        else
        {
            // As in Kernel: raw accumulators for the caller's scalar epilogue, rows NR apart.
            nint nr = 2 * TSimd.Count;
            TSimd.Store(c0, ref *edge, 0);
            if (TRows.Count > 1) TSimd.Store(c1, ref *(edge + nr), 0);
            if (TRows.Count > 2)
            {
                TSimd.Store(c2, ref *(edge + 2 * nr), 0);
                TSimd.Store(c3, ref *(edge + 3 * nr), 0);
            }
            if (TRows.Count > 4)
            {
                TSimd.Store(c4, ref *(edge + 4 * nr), 0);
                TSimd.Store(c5, ref *(edge + 5 * nr), 0);
                TSimd.Store(c6, ref *(edge + 6 * nr), 0);
                TSimd.Store(c7, ref *(edge + 7 * nr), 0);
            }
        }
    }

    /// <summary>The epilogue of <see cref="StoreRow"/> for one vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreOne(T* c, TVector x, TVector va, TVector vb, int mode)
    {
        if (mode == GemmEpilogue.Overwrite) TSimd.Store(TSimd.Multiply(va, x), ref *c, 0);
        else if (mode == GemmEpilogue.Scale) TSimd.Store(TSimd.FusedMultiplyAdd(va, x, TSimd.Multiply(vb, TSimd.Load(ref *c, 0))), ref *c, 0);
        else TSimd.Store(TSimd.FusedMultiplyAdd(va, x, TSimd.Load(ref *c, 0)), ref *c, 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Kernel<TRows, TA>(int kc, T* a, nint lda, T* b, nint ldbPanel, T* c, nint ldc, int cols,
        T alpha, T beta, int mode, T* edge)
        where TRows : struct, IRows where TA : struct, IAOrder
    {
        nuint v = (nuint)TSimd.Count;
        nint nr = 2 * TSimd.Count;
        TVector c00 = TSimd.Zero, c01 = TSimd.Zero, c10 = TSimd.Zero, c11 = TSimd.Zero;
        TVector c20 = TSimd.Zero, c21 = TSimd.Zero, c30 = TSimd.Zero, c31 = TSimd.Zero;
        TVector c40 = TSimd.Zero, c41 = TSimd.Zero, c50 = TSimd.Zero, c51 = TSimd.Zero;
        TVector c60 = TSimd.Zero, c61 = TSimd.Zero, c70 = TSimd.Zero, c71 = TSimd.Zero;
        TVector x;
        if (TA.Transposed)
        {
            // op(A) column p is contiguous: a[p·lda + 0..rows).
            for (int p = 0; p < kc; p++)
            {
                TVector b0 = TSimd.Load(ref *b, 0), b1 = TSimd.Load(ref *b, v);
                x = TSimd.Broadcast(a[0]); c00 = TSimd.FusedMultiplyAdd(x, b0, c00); c01 = TSimd.FusedMultiplyAdd(x, b1, c01);
                if (TRows.Count > 1) { x = TSimd.Broadcast(a[1]); c10 = TSimd.FusedMultiplyAdd(x, b0, c10); c11 = TSimd.FusedMultiplyAdd(x, b1, c11); }
                if (TRows.Count > 2)
                {
                    x = TSimd.Broadcast(a[2]); c20 = TSimd.FusedMultiplyAdd(x, b0, c20); c21 = TSimd.FusedMultiplyAdd(x, b1, c21);
                    x = TSimd.Broadcast(a[3]); c30 = TSimd.FusedMultiplyAdd(x, b0, c30); c31 = TSimd.FusedMultiplyAdd(x, b1, c31);
                }
                if (TRows.Count > 4)
                {
                    x = TSimd.Broadcast(a[4]); c40 = TSimd.FusedMultiplyAdd(x, b0, c40); c41 = TSimd.FusedMultiplyAdd(x, b1, c41);
                    x = TSimd.Broadcast(a[5]); c50 = TSimd.FusedMultiplyAdd(x, b0, c50); c51 = TSimd.FusedMultiplyAdd(x, b1, c51);
                    x = TSimd.Broadcast(a[6]); c60 = TSimd.FusedMultiplyAdd(x, b0, c60); c61 = TSimd.FusedMultiplyAdd(x, b1, c61);
                    x = TSimd.Broadcast(a[7]); c70 = TSimd.FusedMultiplyAdd(x, b0, c70); c71 = TSimd.FusedMultiplyAdd(x, b1, c71);
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
                TVector b0 = TSimd.Load(ref *b, 0), b1 = TSimd.Load(ref *b, v);
                x = TSimd.Broadcast(a[p]); c00 = TSimd.FusedMultiplyAdd(x, b0, c00); c01 = TSimd.FusedMultiplyAdd(x, b1, c01);
                if (TRows.Count > 1) { x = TSimd.Broadcast(a1[p]); c10 = TSimd.FusedMultiplyAdd(x, b0, c10); c11 = TSimd.FusedMultiplyAdd(x, b1, c11); }
                if (TRows.Count > 2)
                {
                    x = TSimd.Broadcast(a2[p]); c20 = TSimd.FusedMultiplyAdd(x, b0, c20); c21 = TSimd.FusedMultiplyAdd(x, b1, c21);
                    x = TSimd.Broadcast(a3[p]); c30 = TSimd.FusedMultiplyAdd(x, b0, c30); c31 = TSimd.FusedMultiplyAdd(x, b1, c31);
                }
                if (TRows.Count > 4)
                {
                    x = TSimd.Broadcast(a4[p]); c40 = TSimd.FusedMultiplyAdd(x, b0, c40); c41 = TSimd.FusedMultiplyAdd(x, b1, c41);
                    x = TSimd.Broadcast(a5[p]); c50 = TSimd.FusedMultiplyAdd(x, b0, c50); c51 = TSimd.FusedMultiplyAdd(x, b1, c51);
                    x = TSimd.Broadcast(a6[p]); c60 = TSimd.FusedMultiplyAdd(x, b0, c60); c61 = TSimd.FusedMultiplyAdd(x, b1, c61);
                    x = TSimd.Broadcast(a7[p]); c70 = TSimd.FusedMultiplyAdd(x, b0, c70); c71 = TSimd.FusedMultiplyAdd(x, b1, c71);
                }
                b += ldbPanel;
            }
        }

        if (cols == nr)
        {
            TVector va = TSimd.Broadcast(alpha), vb = TSimd.Broadcast(beta);
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
            // An edge tile (fewer than NR valid columns): hand the raw accumulators to the caller, which applies the
            // epilogue to the valid columns. No call may happen here while accumulators are live: the register
            // allocator then spilled and reloaded all 16 of them on every k step (seen in NativeAOT code, where
            // the training step ran 2.3x slower).
            StoreRaw(edge, c00, c01);
            if (TRows.Count > 1) StoreRaw(edge + nr, c10, c11);
            if (TRows.Count > 2)
            {
                StoreRaw(edge + 2 * nr, c20, c21);
                StoreRaw(edge + 3 * nr, c30, c31);
            }
            if (TRows.Count > 4)
            {
                StoreRaw(edge + 4 * nr, c40, c41);
                StoreRaw(edge + 5 * nr, c50, c51);
                StoreRaw(edge + 6 * nr, c60, c61);
                StoreRaw(edge + 7 * nr, c70, c71);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreRaw(T* dst, TVector x0, TVector x1)
    {
        TSimd.Store(x0, ref *dst, 0);
        TSimd.Store(x1, ref *dst, (nuint)TSimd.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreRow(T* c, TVector x0, TVector x1, TVector va, TVector vb, int mode)
    {
        nuint v = (nuint)TSimd.Count;
        if (mode == GemmEpilogue.Overwrite)
        {
            TSimd.Store(TSimd.Multiply(va, x0), ref *c, 0);
            TSimd.Store(TSimd.Multiply(va, x1), ref *c, v);
        }
        else if (mode == GemmEpilogue.Scale)
        {
            TSimd.Store(TSimd.FusedMultiplyAdd(va, x0, TSimd.Multiply(vb, TSimd.Load(ref *c, 0))), ref *c, 0);
            TSimd.Store(TSimd.FusedMultiplyAdd(va, x1, TSimd.Multiply(vb, TSimd.Load(ref *c, v))), ref *c, v);
        }
        else
        {
            TSimd.Store(TSimd.FusedMultiplyAdd(va, x0, TSimd.Load(ref *c, 0)), ref *c, 0);
            TSimd.Store(TSimd.FusedMultiplyAdd(va, x1, TSimd.Load(ref *c, v)), ref *c, v);
        }
    }
}
