using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>The instruction-set paths of the GEMM, fastest first.</summary>
internal enum GemmIsa
{
    /// <summary><see cref="Vector512{T}"/> (AVX-512): 8×(2 vectors) tiles, 16 accumulators.</summary>
    Vector512,

    /// <summary><see cref="Vector256{T}"/> (AVX2 + FMA): 4×(2 vectors) tiles, 8 accumulators (fits 16 registers).</summary>
    Vector256,

    /// <summary><see cref="Vector128{T}"/> (SSE, Arm64 AdvSimd, or software where not accelerated): 4×(2 vectors) tiles.</summary>
    Vector128,
}

// ---- Compile-time constants for the micro-kernels: generic struct arguments the JIT specialises on, so that
// `if (TRows.Count > 4)` and `if (TA.Transposed)` vanish from the generated code.

/// <summary>How many rows of C one micro-kernel call computes.</summary>
internal interface IRows { static abstract int Count { get; } }
internal struct Rows1 : IRows { public static int Count => 1; }
internal struct Rows2 : IRows { public static int Count => 2; }
internal struct Rows4 : IRows { public static int Count => 4; }
internal struct Rows8 : IRows { public static int Count => 8; }

/// <summary>How A is read: row i, column p of op(A) is at <c>a[i·lda + p]</c>, or <c>a[p·lda + i]</c> when transposed.</summary>
internal interface IAOrder { static abstract bool Transposed { get; } }
internal struct ANormal : IAOrder { public static bool Transposed => false; }
internal struct ATransposed : IAOrder { public static bool Transposed => true; }

/// <summary>
/// One instruction-set path: its register tile and micro-kernel. The driver
/// (<see cref="GemmDriver{T, TPath}"/>) is written once over this interface, and so is the only implementation,
/// <see cref="GemmPath{T, TSimd, TVector, TMaxRows}"/>, generic over the vector width.
/// </summary>
internal interface IGemmPath<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The most rows one micro-kernel call handles (MR).</summary>
    static abstract int MaxRows { get; }

    /// <summary>Elements of <typeparamref name="T"/> per vector; a B panel (NR) is two vectors wide.</summary>
    static abstract int Lanes { get; }

    /// <summary>Copies one panel row (NR = 2 vectors) from <paramref name="src"/> to aligned <paramref name="dst"/>.</summary>
    static abstract unsafe void CopyPanelRow(T* src, T* dst);

    /// <summary>Copies one vector from <paramref name="src"/> to aligned <paramref name="dst"/> and zeroes the second
    /// vector of the panel row (a last panel exactly one vector wide).</summary>
    static abstract unsafe void CopyHalfPanelRow(T* src, T* dst);

    /// <summary>
    /// The micro-kernel: for the <c>TRows.Count</c> rows of op(A) at <paramref name="a"/> (k-offset already
    /// applied) and one B panel (<paramref name="kc"/> rows of NR contiguous elements, <paramref name="ldbPanel"/>
    /// apart: NR when packed, ldb when read in place), computes the
    /// dot products acc[i, j] = Σ_p a(i, p)·b(p, j) as one fused multiply-add chain per element in p order,
    /// then writes the first <paramref name="cols"/> columns of each C row by <paramref name="mode"/>
    /// (see <see cref="GemmEpilogue"/>).
    /// </summary>
    static abstract unsafe void Kernel<TRows, TA>(int kc, T* a, nint lda, T* b, nint ldbPanel, T* c, nint ldc, int cols,
        T alpha, T beta, int mode, T* edge)
        where TRows : struct, IRows where TA : struct, IAOrder;

    /// <summary>
    /// <see cref="Kernel"/> for a panel whose valid columns (<paramref name="cols"/> ≤ one vector) all lie in its first
    /// vector: the same fused multiply-add chains and epilogue for those columns, without the second vector's work.
    /// An edge tile (<paramref name="cols"/> below one vector) stores its raw accumulators at <paramref name="edge"/>
    /// (rows of NR) as <see cref="Kernel"/> does.
    /// </summary>
    static abstract unsafe void KernelNarrow<TRows, TA>(int kc, T* a, nint lda, T* b, nint ldbPanel, T* c, nint ldc, int cols,
        T alpha, T beta, int mode, T* edge)
        where TRows : struct, IRows where TA : struct, IAOrder;
}

/// <summary>
/// How a micro-kernel combines its dot products with C. All paths and the scalar edge code use exactly
/// these operations (in IEEE arithmetic a vector lane rounds like a scalar), which is what makes results
/// independent of tile position, thread split and packing.
/// </summary>
internal static class GemmEpilogue
{
    /// <summary>The k depth of one accumulation chain (the driver's KC): a longer k is summed chain by chain, each
    /// added to C by <see cref="Accumulate"/>. Kernels that must match the GEMM bit for bit
    /// (<see cref="LstmStep"/>) split their chains here too.</summary>
    public const int ChainDepth = 256;

    /// <summary>First k-block, beta = 0: <c>C = alpha·acc</c> (C is not read).</summary>
    public const int Overwrite = 0;

    /// <summary>First k-block, beta ≠ 0: <c>C = fma(alpha, acc, beta·C)</c>.</summary>
    public const int Scale = 1;

    /// <summary>Later k-blocks: <c>C = fma(alpha, acc, C)</c>.</summary>
    public const int Accumulate = 2;

    /// <summary>The scalar form of the epilogue, used for partial tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Apply<T>(T acc, T cOld, T alpha, T beta, int mode) where T : unmanaged, IFloatingPointIeee754<T> =>
        mode == Overwrite ? alpha * acc
        : mode == Scale ? T.FusedMultiplyAdd(alpha, acc, beta * cOld)
        : T.FusedMultiplyAdd(alpha, acc, cOld);

    /// <summary>Writes the first <paramref name="cols"/> of a row of accumulators held in <paramref name="tile"/>.</summary>
    public static unsafe void ApplyPartial<T>(T* tile, T* c, int cols, T alpha, T beta, int mode)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < cols; j++)
            c[j] = Apply(tile[j], mode == Overwrite ? T.Zero : c[j], alpha, beta, mode);
    }
}
