using System.Numerics;

namespace Nn.Simd.Tensors.Kernels;

public static partial class Gemm
{
    // Placeholder dispatch: the packed SIMD kernels replace this body.
    private static void ComputeCore<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Reference(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
