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

    /// <summary><see cref="Vector{T}"/>, whatever width the runtime gives (software if not accelerated): 4×(2 vectors) tiles.</summary>
    VectorT,
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
/// (<see cref="GemmDriver{T, TPath}"/>) is written once over this interface.
/// </summary>
internal interface IGemmPath
{
    /// <summary>The path this type implements.</summary>
    static abstract GemmIsa Isa { get; }

    /// <summary>The most rows one micro-kernel call handles (MR).</summary>
    static abstract int MaxRows { get; }

    /// <summary>Elements of <typeparamref name="T"/> per vector; a B panel (NR) is two vectors wide.</summary>
    static abstract int Lanes<T>() where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Copies one panel row (NR = 2 vectors) from <paramref name="src"/> to aligned <paramref name="dst"/>.</summary>
    static abstract unsafe void CopyPanelRow<T>(T* src, T* dst) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>
    /// The micro-kernel: for the <c>TRows.Count</c> rows of op(A) at <paramref name="a"/> (k-offset already
    /// applied) and one B panel (<paramref name="kc"/> rows of NR contiguous elements, <paramref name="ldbPanel"/>
    /// apart: NR when packed, ldb when read in place), computes the
    /// dot products acc[i, j] = Σ_p a(i, p)·b(p, j) as one fused multiply-add chain per element in p order,
    /// then writes the first <paramref name="cols"/> columns of each C row by <paramref name="mode"/>
    /// (see <see cref="GemmEpilogue"/>).
    /// </summary>
    static abstract unsafe void Kernel<T, TRows, TA>(int kc, T* a, nint lda, T* b, nint ldbPanel, T* c, nint ldc, int cols,
        T alpha, T beta, int mode)
        where T : unmanaged, IFloatingPointIeee754<T> where TRows : struct, IRows where TA : struct, IAOrder;
}

/// <summary>
/// How a micro-kernel combines its dot products with C. All paths and the scalar edge code use exactly
/// these operations (in IEEE arithmetic a vector lane rounds like a scalar), which is what makes results
/// independent of tile position, thread split and packing.
/// </summary>
internal static class GemmEpilogue
{
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

/// <summary>Fused multiply-add at each width, for the element types the GEMM supports.</summary>
internal static class VectorFma
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Fma<T>(Vector512<T> x, Vector512<T> y, Vector512<T> z)
    {
        if (typeof(T) == typeof(float))
            return Vector512.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector512.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
        throw new NotSupportedException($"No vector FMA for {typeof(T).Name}.");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Fma<T>(Vector256<T> x, Vector256<T> y, Vector256<T> z)
    {
        if (typeof(T) == typeof(float))
            return Vector256.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector256.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
        throw new NotSupportedException($"No vector FMA for {typeof(T).Name}.");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Fma<T>(Vector<T> x, Vector<T> y, Vector<T> z)
    {
        if (typeof(T) == typeof(float))
            return Vector.FusedMultiplyAdd(Vector.AsVectorSingle(x), Vector.AsVectorSingle(y), Vector.AsVectorSingle(z)).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector.FusedMultiplyAdd(Vector.AsVectorDouble(x), Vector.AsVectorDouble(y), Vector.AsVectorDouble(z)).As<double, T>();
        throw new NotSupportedException($"No vector FMA for {typeof(T).Name}.");
    }
}
