using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

// A [m, k] and B [n, k] row-major (rows contiguous); C [m, n] = A·Bᵀ.

/// <summary>
/// <c>C = A·Bᵀ</c> for a narrow C (few columns), as one dot product of two contiguous rows per element. The GEMM
/// pads its column panels to a whole register tile (32 floats with AVX-512), so a product with, say, 5 columns does
/// six times the work; a recurrent layer's input gradient <c>dx = dZ·Wᵀ</c> (<c>[T·B, G·H]·[G·H, F]</c> with few
/// features F) is that shape.
/// </summary>
/// <remarks>
/// Each element is the same sequence of operations whatever the number of rows or the caller's split: a vector
/// dot product in k order (fused multiply-adds into one accumulator per column), reduced across lanes, plus the
/// scalar tail of k. It is not bitwise equal to <see cref="Gemm"/>'s result (the summation order differs).
/// </remarks>
public static class RowDots
{
    /// <summary>Computes <c>c[i, j] = Σ_p a[i, p]·b[j, p]</c>, overwriting C.</summary>
    /// <param name="a">A, <c>[m, k]</c>.</param>
    /// <param name="b">B, <c>[n, k]</c>.</param>
    /// <param name="c">C, <c>[m, n]</c>.</param>
    /// <param name="m">Rows of A and C.</param>
    /// <param name="n">Rows of B, columns of C.</param>
    /// <param name="k">The common row length.</param>
    /// <exception cref="ArgumentException">A dimension is negative or a span is too short for its shape.</exception>
    public static void MultiplyTransposed<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        LstmGates.CheckLength(a.Length, m, k, nameof(a));
        LstmGates.CheckLength(b.Length, n, k, nameof(b));
        LstmGates.CheckLength(c.Length, m, n, nameof(c));
        if (m == 0 || n == 0) return;
        ref T pa = ref MemoryMarshal.GetReference(a);
        ref T pb = ref MemoryMarshal.GetReference(b);
        ref T pc = ref MemoryMarshal.GetReference(c);
        if (Simd512<T>.IsSupported && k >= Vector512<T>.Count)
            Rows<T, Simd512<T>, Vector512<T>>(ref pa, ref pb, ref pc, m, n, k);
        else if (Simd256<T>.IsSupported && k >= Vector256<T>.Count)
            Rows<T, Simd256<T>, Vector256<T>>(ref pa, ref pb, ref pc, m, n, k);
        else
            Rows<T, SimdScalar<T>, T>(ref pa, ref pb, ref pc, m, n, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<T, TS, TV>(ref T a, ref T b, ref T c, int m, int n, int k)
        where T : unmanaged, IFloatingPointIeee754<T> where TS : ISimd<TV, T> where TV : struct
    {
        nuint w = (nuint)TS.Count, kk = (nuint)k, kv = kk / w * w;
        for (nuint i = 0; i < (nuint)m; i++)
        {
            ref T ai = ref Unsafe.Add(ref a, i * kk);
            ref T ci = ref Unsafe.Add(ref c, i * (nuint)n);
            nuint j = 0;
            // Four columns at a time: one load of A's row feeds four chains.
            for (; j + 4 <= (nuint)n; j += 4)
            {
                ref T b0 = ref Unsafe.Add(ref b, j * kk);
                ref T b1 = ref Unsafe.Add(ref b0, kk);
                ref T b2 = ref Unsafe.Add(ref b1, kk);
                ref T b3 = ref Unsafe.Add(ref b2, kk);
                TV s0 = TS.Zero, s1 = TS.Zero, s2 = TS.Zero, s3 = TS.Zero;
                for (nuint p = 0; p < kv; p += w)
                {
                    TV x = TS.Load(ref ai, p);
                    s0 = TS.FusedMultiplyAdd(x, TS.Load(ref b0, p), s0);
                    s1 = TS.FusedMultiplyAdd(x, TS.Load(ref b1, p), s1);
                    s2 = TS.FusedMultiplyAdd(x, TS.Load(ref b2, p), s2);
                    s3 = TS.FusedMultiplyAdd(x, TS.Load(ref b3, p), s3);
                }
                Unsafe.Add(ref ci, j) = Finish(TS.Sum(s0), ref ai, ref b0, kv, kk);
                Unsafe.Add(ref ci, j + 1) = Finish(TS.Sum(s1), ref ai, ref b1, kv, kk);
                Unsafe.Add(ref ci, j + 2) = Finish(TS.Sum(s2), ref ai, ref b2, kv, kk);
                Unsafe.Add(ref ci, j + 3) = Finish(TS.Sum(s3), ref ai, ref b3, kv, kk);
            }
            for (; j < (nuint)n; j++)
            {
                ref T bj = ref Unsafe.Add(ref b, j * kk);
                TV s = TS.Zero;
                for (nuint p = 0; p < kv; p += w) s = TS.FusedMultiplyAdd(TS.Load(ref ai, p), TS.Load(ref bj, p), s);
                Unsafe.Add(ref ci, j) = Finish(TS.Sum(s), ref ai, ref bj, kv, kk);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Finish<T>(T sum, ref T a, ref T b, nuint from, nuint k) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (nuint p = from; p < k; p++) sum = T.FusedMultiplyAdd(Unsafe.Add(ref a, p), Unsafe.Add(ref b, p), sum);
        return sum;
    }
}
