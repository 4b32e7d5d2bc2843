using System.Numerics;

namespace Nn.Simd.Tensors.Kernels;

public static partial class Gemm
{
    /// <summary>
    /// The scalar reference GEMM: the test oracle and the benchmark baseline. Same contract as
    /// <see cref="Compute{T}(bool, bool, int, int, int, T, ReadOnlySpan{T}, int, ReadOnlySpan{T}, int, T, Span{T}, int)"/>; each C element is one dot product accumulated in <typeparamref name="T"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A dimension is negative, a leading dimension is too small, or a span is too short.</exception>
    public static void Reference<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    T av = transA ? a[p * lda + i] : a[i * lda + p];
                    T bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += av * bv;
                }
                ref T cij = ref c[i * ldc + j];
                cij = beta == T.Zero ? alpha * sum : alpha * sum + beta * cij;
            }
        }
    }
}
