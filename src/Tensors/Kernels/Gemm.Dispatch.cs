using Nn.Simd.Tensors.Kernels.Common;
using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nn.Simd.Tensors.Kernels;

public static partial class Gemm
{
    /// <summary>The fastest path this CPU supports, chosen once per process.</summary>
    internal static readonly GemmIsa BestIsa =
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? GemmIsa.Vector512
        : Vector256.IsHardwareAccelerated && Fma.IsSupported ? GemmIsa.Vector256
        : GemmIsa.Vector128;

    /// <summary>
    /// Tests only: forces a path for calls made on the current thread (an unsupported one runs in software);
    /// null uses <see cref="BestIsa"/>. Per thread, so tests running in parallel do not see each other's choice.
    /// </summary>
    [ThreadStatic] internal static GemmIsa? ForcedIsa;

    internal static GemmIsa ActiveIsa => ForcedIsa ?? BestIsa;

    /// <summary>
    /// Below this many FLOPs (2·m·n·k) one thread does the whole call: handing half to a worker costs about a
    /// microsecond even when it is spinning, and more when it must be woken. Tests lower it to force splits.
    /// </summary>
    internal static long ParallelMinFlops = 1L << 21;

    private static unsafe void ComputeCore<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (m == 0 || n == 0) return;
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            Reference(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        if (k == 0)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }
        fixed (T* pa = a, pb = b, pc = c)
        {
            var args = new GemmArgs<T>
            {
                TransA = transA, TransB = transB, M = m, N = n, K = k, Alpha = alpha, Beta = beta,
                A = pa, B = pb, C = pc, Lda = lda, Ldb = ldb, Ldc = ldc,
            };
            Run(ActiveIsa, args);
        }
    }

    private static void Run<T>(GemmIsa isa, in GemmArgs<T> args) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (isa)
        {
            case GemmIsa.Vector512: GemmDriver<T, GemmPath<T, Simd512<T>, Vector512<T>, Rows8>>.Run(args); break;
            case GemmIsa.Vector256: GemmDriver<T, GemmPath<T, Simd256<T>, Vector256<T>, Rows4>>.Run(args); break;
            default: GemmDriver<T, GemmPath<T, Simd128<T>, Vector128<T>, Rows4>>.Run(args); break;
        }
    }

    /// <summary>C = beta·C (k = 0: the product is empty); beta = 0 writes zeros without reading C.</summary>
    private static void ScaleC<T>(int m, int n, T beta, Span<T> c, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
        {
            Span<T> row = c.Slice(i * ldc, n);
            if (beta == T.Zero) row.Clear();
            else for (int j = 0; j < row.Length; j++) row[j] = beta * row[j];
        }
    }
}
