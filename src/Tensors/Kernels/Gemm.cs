using System.Numerics;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>
/// General matrix multiply on row-major matrices: <c>C = alpha·op(A)·op(B) + beta·C</c>, where each op is
/// the identity or the transpose.
/// </summary>
/// <remarks>
/// <para>
/// Shapes: op(A) is [m, k], op(B) is [k, n] and C is [m, n]. A stored matrix X of r rows has element
/// (i, j) at <c>x[i·ldx + j]</c>. When <c>beta</c> is zero, C is not read (NaNs in C do not propagate),
/// as in BLAS.
/// </para>
/// <para>
/// Implementation (float and double; other types use <see cref="Reference{T}"/>): BLIS-style blocking around a
/// register-tiled micro-kernel on <c>Vector512</c> (8 rows × 2 vectors, 16 accumulators), with <c>Vector256</c>
/// and <c>Vector&lt;T&gt;</c> paths for other CPUs; the path is chosen once per process. Panels of op(B) are packed
/// into cache-sized blocks; A is read in place. A last panel no wider than one vector runs a one-vector kernel. Large
/// calls are split over N (over M when C has fewer panels than threads) across
/// <see cref="Parallelism.MaxDegree"/> threads of a persistent worker pool; small ones stay on the calling thread.
/// Steady-state calls allocate nothing.
/// </para>
/// <para>
/// Determinism: each element of C is one fused multiply-add chain per 256-deep block of k, in k order, whatever
/// the thread count, the split or whether B was pre-packed, so results are bitwise identical in all those cases
/// (they can differ in the last bits from <see cref="Reference{T}"/> and between instruction-set paths).
/// </para>
/// <para>
/// Reusing one B for many products (a recurrent kernel at every time step): pack it once with
/// <see cref="Pack{T}"/> and call <see cref="Compute{T}(bool, int, T, ReadOnlySpan{T}, int, PackedMatrix{T}, T, Span{T}, int)"/>;
/// see <see cref="PackedMatrix{T}"/>.
/// </para>
/// </remarks>
public static partial class Gemm
{
    /// <summary>Computes <c>C = alpha·op(A)·op(B) + beta·C</c>.</summary>
    /// <param name="transA">Use Aᵀ: A is stored [k, m] instead of [m, k].</param>
    /// <param name="transB">Use Bᵀ: B is stored [n, k] instead of [k, n].</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">The inner dimension.</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="a">A, row-major with leading dimension <paramref name="lda"/>.</param>
    /// <param name="lda">Elements between consecutive rows of stored A.</param>
    /// <param name="b">B, row-major with leading dimension <paramref name="ldb"/>.</param>
    /// <param name="ldb">Elements between consecutive rows of stored B.</param>
    /// <param name="beta">Scale of the existing C; zero means C is overwritten without being read.</param>
    /// <param name="c">C, row-major with leading dimension <paramref name="ldc"/>.</param>
    /// <param name="ldc">Elements between consecutive rows of C.</param>
    /// <exception cref="ArgumentException">A dimension is negative, a leading dimension is too small, or a span is too short.</exception>
    public static void Compute<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        ComputeCore(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// <summary>
    /// Multiplies tensors viewed as matrices (all leading dimensions folded into rows):
    /// <c>c = alpha·op(a)·op(b) + beta·c</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes do not agree; the message names both.</exception>
    public static void MatMul<T>(Tensor<T> a, Tensor<T> b, Tensor<T> c, bool transA = false, bool transB = false,
        T? alpha = null, T? beta = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(c);
        int ar = a.Shape.Rows, ac = a.Shape.Columns, br = b.Shape.Rows, bc = b.Shape.Columns;
        int m = transA ? ac : ar, k = transA ? ar : ac;
        int kb = transB ? bc : br, n = transB ? br : bc;
        if (k != kb)
            throw new ArgumentException(
                $"Inner dimensions differ: op(a) is [{m}, {k}] (a has shape {a.Shape}{(transA ? ", transposed" : "")}) and op(b) is [{kb}, {n}] (b has shape {b.Shape}{(transB ? ", transposed" : "")}).",
                nameof(b));
        if (c.Shape.Rows != m || c.Shape.Columns != n)
            throw new ArgumentException($"c has shape {c.Shape} but the product is [{m}, {n}] (a {a.Shape}, b {b.Shape}).", nameof(c));
        Compute(transA, transB, m, n, k, alpha ?? T.One, a.ReadOnlySpan, ac, b.ReadOnlySpan, bc, beta ?? T.Zero, c.Span, n);
    }

    internal static void Validate(bool transA, bool transB, int m, int n, int k,
        int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentException($"Dimensions must be non-negative; got m={m}, n={n}, k={k}.", nameof(m));
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        if (lda < Math.Max(1, aCols))
            throw new ArgumentException($"lda={lda} is less than the {aCols} columns of stored A [{aRows}, {aCols}].", nameof(lda));
        if (ldb < Math.Max(1, bCols))
            throw new ArgumentException($"ldb={ldb} is less than the {bCols} columns of stored B [{bRows}, {bCols}].", nameof(ldb));
        if (ldc < Math.Max(1, n))
            throw new ArgumentException($"ldc={ldc} is less than the {n} columns of C [{m}, {n}].", nameof(ldc));
        if (m == 0 || n == 0) return;
        if (k > 0 && aLength < Needed(aRows, aCols, lda))
            throw new ArgumentException($"a has {aLength} elements; stored A [{aRows}, {aCols}] with lda={lda} needs {Needed(aRows, aCols, lda)}.", "a");
        if (k > 0 && bLength < Needed(bRows, bCols, ldb))
            throw new ArgumentException($"b has {bLength} elements; stored B [{bRows}, {bCols}] with ldb={ldb} needs {Needed(bRows, bCols, ldb)}.", "b");
        if (cLength < Needed(m, n, ldc))
            throw new ArgumentException($"c has {cLength} elements; C [{m}, {n}] with ldc={ldc} needs {Needed(m, n, ldc)}.", "c");
    }

    private static long Needed(int rows, int cols, int ld) => rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
}
