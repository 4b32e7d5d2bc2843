using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>
/// A right-hand GEMM operand op(B) [k, n], packed once into the panel layout the GEMM micro-kernel reads, so
/// that many products with the same B skip the packing step.
/// </summary>
/// <remarks>
/// <para>
/// Use it where one matrix multiplies many others: a recurrent layer computes <c>h_prev·U</c> with the same
/// recurrent kernel U at every time step, so it packs U once (per optimizer step) with
/// <see cref="Gemm.Pack{T}"/>, calls <see cref="Gemm.Compute{T}(bool, int, T, ReadOnlySpan{T}, int, PackedMatrix{T}, T, Span{T}, int)"/>
/// at each step, and after the weights change refreshes the same storage with <see cref="Repack(ReadOnlySpan{T}, int)"/>,
/// which allocates nothing.
/// </para>
/// <para>
/// Results are bitwise equal to the unpacked <see cref="Gemm.Compute{T}(bool, bool, int, int, int, T, ReadOnlySpan{T}, int, ReadOnlySpan{T}, int, T, Span{T}, int)"/>
/// with the same operands. The packed layout belongs to the instruction-set path current when the matrix was
/// created (it fixes the panel width), and products with it use that path. The matrix is a snapshot: later
/// changes to the source do not show until <see cref="Repack(ReadOnlySpan{T}, int)"/>. Concurrent products that
/// only read it are safe; repacking while a product runs is not.
/// </para>
/// </remarks>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/> (other types are stored unpacked and use the reference GEMM).</typeparam>
public sealed class PackedMatrix<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _storage;
    private readonly int _offset;

    internal PackedMatrix(bool transposed, int k, int n, GemmIsa isa)
    {
        K = k;
        N = n;
        Transposed = transposed;
        Isa = isa;
        long length = IsPanelled ? PackedLength(isa, k, n) : (long)k * n;
        if (length > Array.MaxLength - 64)
            throw new ArgumentException($"op(B) [{k}, {n}] is too large to pack ({length} elements).", nameof(n));
        _storage = AlignedArray.Allocate<T>((int)length, out _offset);
    }

    /// <summary>Rows of op(B): the inner dimension of the products.</summary>
    public int K { get; }

    /// <summary>Columns of op(B): the columns of the products' C.</summary>
    public int N { get; }

    /// <summary>Whether the source was stored transposed (B stored [n, k], op(B) = Bᵀ).</summary>
    public bool Transposed { get; }

    internal GemmIsa Isa { get; }

    private static bool IsPanelled => typeof(T) == typeof(float) || typeof(T) == typeof(double);

    internal unsafe T* Pointer => (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_storage)) + _offset;

    /// <summary>Unpacked [k, n] row-major copy, for element types without a fast path.</summary>
    internal ReadOnlySpan<T> Plain => _storage.AsSpan(_offset, K * N);

    /// <summary>
    /// Packs new values of B into this matrix's storage, without allocating; the orientation is the one given
    /// at creation (<see cref="Transposed"/>).
    /// </summary>
    /// <param name="b">B, stored [k, n] (or [n, k] when <see cref="Transposed"/>), row-major with leading dimension <paramref name="ldb"/>.</param>
    /// <param name="ldb">Elements between consecutive rows of stored B.</param>
    /// <exception cref="ArgumentException"><paramref name="ldb"/> is too small or <paramref name="b"/> is too short; the message gives the shapes.</exception>
    public void Repack(ReadOnlySpan<T> b, int ldb) => Repack(Transposed, b, ldb);

    /// <summary>
    /// Packs new values of B into this matrix's storage, without allocating, possibly with the other
    /// orientation; op(B) must keep the shape [<see cref="K"/>, <see cref="N"/>].
    /// </summary>
    /// <param name="transB">B is stored [n, k] (op(B) = Bᵀ) instead of [k, n].</param>
    /// <param name="b">B, row-major with leading dimension <paramref name="ldb"/>.</param>
    /// <param name="ldb">Elements between consecutive rows of stored B.</param>
    /// <exception cref="ArgumentException"><paramref name="ldb"/> is too small or <paramref name="b"/> is too short; the message gives the shapes.</exception>
    public void Repack(bool transB, ReadOnlySpan<T> b, int ldb)
    {
        Gemm.ValidateB(transB, K, N, b.Length, ldb);
        if (transB != Transposed) throw new ArgumentException(
            $"transB={transB} but this matrix was packed with transB={Transposed}; create a new one with Gemm.Pack to change orientation.",
            nameof(transB));
        Fill(b, ldb);
    }

    internal unsafe void Fill(ReadOnlySpan<T> b, int ldb)
    {
        if (K == 0 || N == 0) return;
        if (!IsPanelled)
        {
            Span<T> plain = _storage.AsSpan(_offset, K * N);
            for (int p = 0; p < K; p++)
                for (int j = 0; j < N; j++)
                    plain[p * N + j] = Transposed ? b[j * ldb + p] : b[p * ldb + j];
            return;
        }
        fixed (T* pb = b)
        {
            switch (Isa)
            {
                case GemmIsa.Vector512: GemmDriver<T, GemmPath<T, Simd512<T>, Vector512<T>, Rows8>>.PackAll(Transposed, K, N, pb, ldb, Pointer); break;
                case GemmIsa.Vector256: GemmDriver<T, GemmPath<T, Simd256<T>, Vector256<T>, Rows4>>.PackAll(Transposed, K, N, pb, ldb, Pointer); break;
                default: GemmDriver<T, GemmPath<T, Simd128<T>, Vector128<T>, Rows4>>.PackAll(Transposed, K, N, pb, ldb, Pointer); break;
            }
        }
        GC.KeepAlive(this);
    }

    private static long PackedLength(GemmIsa isa, int k, int n) => isa switch
    {
        GemmIsa.Vector512 => GemmDriver<T, GemmPath<T, Simd512<T>, Vector512<T>, Rows8>>.PackedLength(k, n),
        GemmIsa.Vector256 => GemmDriver<T, GemmPath<T, Simd256<T>, Vector256<T>, Rows4>>.PackedLength(k, n),
        _ => GemmDriver<T, GemmPath<T, Simd128<T>, Vector128<T>, Rows4>>.PackedLength(k, n),
    };

    /// <summary>Describes the packed operand.</summary>
    public override string ToString() => $"PackedMatrix<{typeof(T).Name}> op(B) [{K}, {N}]{(Transposed ? " from Bᵀ" : "")}, {Isa} panels";
}

public static partial class Gemm
{
    /// <summary>
    /// Packs op(B) [k, n] once for reuse by many products
    /// (<see cref="Compute{T}(bool, int, T, ReadOnlySpan{T}, int, PackedMatrix{T}, T, Span{T}, int)"/>).
    /// </summary>
    /// <param name="transB">B is stored [n, k] (op(B) = Bᵀ) instead of [k, n].</param>
    /// <param name="k">Rows of op(B).</param>
    /// <param name="n">Columns of op(B).</param>
    /// <param name="b">B, row-major with leading dimension <paramref name="ldb"/>.</param>
    /// <param name="ldb">Elements between consecutive rows of stored B.</param>
    /// <returns>The packed matrix; refresh it in place with <see cref="PackedMatrix{T}.Repack(ReadOnlySpan{T}, int)"/>.</returns>
    /// <exception cref="ArgumentException">A dimension is negative, <paramref name="ldb"/> is too small or <paramref name="b"/> is too short.</exception>
    public static PackedMatrix<T> Pack<T>(bool transB, int k, int n, ReadOnlySpan<T> b, int ldb)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (k < 0 || n < 0)
            throw new ArgumentException($"Dimensions must be non-negative; got k={k}, n={n}.", k < 0 ? nameof(k) : nameof(n));
        ValidateB(transB, k, n, b.Length, ldb);
        var packed = new PackedMatrix<T>(transB, k, n, ActiveIsa);
        packed.Fill(b, ldb);
        return packed;
    }

    /// <summary>
    /// Computes <c>C = alpha·op(A)·B + beta·C</c> with a pre-packed B; the result is bitwise equal to the
    /// unpacked overload with the operand <paramref name="b"/> was packed from.
    /// </summary>
    /// <param name="transA">Use Aᵀ: A is stored [k, m] instead of [m, k].</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="a">A, row-major with leading dimension <paramref name="lda"/>.</param>
    /// <param name="lda">Elements between consecutive rows of stored A.</param>
    /// <param name="b">op(B) [k, n], packed by <see cref="Pack{T}"/>; k and n are its <see cref="PackedMatrix{T}.K"/> and <see cref="PackedMatrix{T}.N"/>.</param>
    /// <param name="beta">Scale of the existing C; zero means C is overwritten without being read.</param>
    /// <param name="c">C [m, n], row-major with leading dimension <paramref name="ldc"/>.</param>
    /// <param name="ldc">Elements between consecutive rows of C.</param>
    /// <exception cref="ArgumentNullException"><paramref name="b"/> is null.</exception>
    /// <exception cref="ArgumentException">A dimension is negative, a leading dimension is too small, or a span is too short.</exception>
    public static unsafe void Compute<T>(bool transA, int m, T alpha, ReadOnlySpan<T> a, int lda, PackedMatrix<T> b,
        T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(b);
        int n = b.N, k = b.K;
        Validate(transA, false, m, n, k, a.Length, lda, int.MaxValue, Math.Max(1, n), c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            Reference(transA, false, m, n, k, alpha, a, lda, b.Plain, Math.Max(1, n), beta, c, ldc);
            return;
        }
        if (k == 0)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }
        fixed (T* pa = a, pc = c)
        {
            var args = new GemmArgs<T>
            {
                TransA = transA, M = m, N = n, K = k, Alpha = alpha, Beta = beta,
                A = pa, C = pc, Lda = lda, Ldc = ldc, Packed = b.Pointer,
            };
            Run(b.Isa, args);
        }
        GC.KeepAlive(b); // the kernels read b's pinned storage through a raw pointer
    }

    /// <summary>Checks a B operand alone (for packing): ldb and the span length against op(B) [k, n].</summary>
    internal static void ValidateB(bool transB, int k, int n, int bLength, int ldb)
    {
        int bRows = transB ? n : k, bCols = transB ? k : n;
        if (ldb < Math.Max(1, bCols))
            throw new ArgumentException($"ldb={ldb} is less than the {bCols} columns of stored B [{bRows}, {bCols}].", nameof(ldb));
        if (k > 0 && n > 0 && bLength < Needed(bRows, bCols, ldb))
            throw new ArgumentException($"b has {bLength} elements; stored B [{bRows}, {bCols}] with ldb={ldb} needs {Needed(bRows, bCols, ldb)}.", "b");
    }
}
