using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nn.Simd.Tensors.Kernels.Common;

/// <summary>How many gate vectors one row of a fused recurrent step's panel holds: 4 for the LSTM (i, f, g, o),
/// 3 for the GRU (z, r, h).</summary>
internal interface IGateCount { static abstract int Count { get; } }
internal struct ThreeGates : IGateCount { public static int Count => 3; }
internal struct FourGates : IGateCount { public static int Count => 4; }

/// <summary>Work that <see cref="GateTile"/>'s sums run in portions between stretches of their k loop (see
/// <see cref="GateTile.Sum{TS, TV, T, TRows, TGates, TWork}"/>).</summary>
internal interface IChainWork
{
    /// <summary>How many portions to run; 0 for none.</summary>
    int Portions { get; }

    /// <summary>Runs portion <paramref name="portion"/>, 0 ≤ portion &lt; <see cref="Portions"/>, in order.</summary>
    void Run(int portion);
}

/// <summary>No work: the sums' plain k loop.</summary>
internal struct NoChainWork : IChainWork
{
    public readonly int Portions => 0;
    public readonly void Run(int portion) { }
}

/// <summary>The operands of one fused recurrent step (<see cref="LstmStep"/>, <see cref="GruStep"/>); a cell
/// leaves the pointers it has no use for null.</summary>
internal unsafe struct StepArgs<T> where T : unmanaged
{
    public T* X, HPrev, CPrev, RecurrentBias, C, H, Gates, Recurrent, Weights;
    public int InputColumns, Units, Rows, Blocks;
    /// <summary>Whether the last input column is the constant 1 and the panels' last input row a bias to add.</summary>
    public bool BiasRow;
    /// <summary>Steps to run (a sequence kernel; 1 for one step), and the elements from one step's x, state (h and c,
    /// whose step s + 1 follows step s) and gates to the next.</summary>
    public int Steps;
    public nint XStep, StateStep, GatesStep;
    /// <summary>Elements between the input rows (F' for one step's [rows, F'] block).</summary>
    public nint XRow;
}

/// <summary>A fused step's body at one vector width, with or without the training outputs.</summary>
internal interface IFusedStep
{
    static abstract unsafe void Run<TS, TV, T, TKeep>(ref StepArgs<T> a)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TKeep : struct, IFlag;
}

/// <summary>
/// The GEMM part of the fused recurrent steps (<see cref="LstmStep"/>, <see cref="GruStep"/>): for up to 4 rows,
/// the sums <c>a·panel</c> over one unit block's panel (rows of <c>TGates.Count</c> vectors), formed exactly as the
/// GEMM forms them, into a small tile <c>z</c> in L1 (rows of <c>TGates.Count</c> vectors).
/// </summary>
/// <remarks>The k loop is cut where the GEMM cuts it (<see cref="GemmEpilogue.ChainDepth"/>); each piece is one
/// fused multiply-add chain from zero in k order, then stored (<c>z = acc</c>) or added (<c>z = acc + z</c>):
/// the GEMM's micro-kernel and epilogue for alpha = beta = 1, so the step's sums are the GEMM's bits.</remarks>
internal static unsafe class GateTile
{
    /// <summary>Runs <typeparamref name="TStep"/> at the widest vector this machine has (512, else 256 bits), keeping
    /// the training outputs when <paramref name="keep"/> is set.</summary>
    public static void Dispatch<TStep, T>(ref StepArgs<T> a, bool keep)
        where TStep : struct, IFusedStep where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Simd512<T>.IsSupported)
        {
            if (keep) TStep.Run<Simd512<T>, Vector512<T>, T, Yes>(ref a);
            else TStep.Run<Simd512<T>, Vector512<T>, T, No>(ref a);
        }
        else if (keep) TStep.Run<Simd256<T>, Vector256<T>, T, Yes>(ref a);
        else TStep.Run<Simd256<T>, Vector256<T>, T, No>(ref a);
    }

    /// <summary><c>z (+)= a[0..rows, 0..k)·panel[0..k, :]</c>, the whole k range in chain-depth pieces; the first
    /// piece stores unless <paramref name="accumulate"/>, every later one adds.</summary>
    /// <param name="k">The depth.</param>
    /// <param name="a">Row 0 of A; row i at <c>a + i·lda</c>.</param>
    /// <param name="lda">Elements between A's rows.</param>
    /// <param name="panel">The panel's first row (rows of <c>TGates.Count</c> vectors, contiguous).</param>
    /// <param name="z">The tile: TRows rows of <c>TGates.Count</c> vectors.</param>
    /// <param name="accumulate">Add the first piece to z too (z holds a running sum, e.g. a broadcast bias).</param>
    /// <param name="bias">Null, or a panel row (<c>TGates.Count</c> vectors) summed as row k with a column of ones in
    /// A: added to the last piece's accumulators instead of multiplied by 1, the same bits (<c>fma(1, b, s)</c> rounds
    /// <c>b + s</c> once, as the add does), one multiply-add per accumulator fewer.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Sum<TS, TV, T, TRows, TGates>(int k, T* a, nint lda, T* panel, T* z, bool accumulate, T* bias = null)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
        where TRows : struct, IRows where TGates : struct, IGateCount
    {
        var none = default(NoChainWork);
        Sum<TS, TV, T, TRows, TGates, NoChainWork>(k, a, lda, panel, z, accumulate, ref none, bias);
    }

    /// <summary>As <see cref="Sum{TS, TV, T, TRows, TGates}"/>, with <paramref name="work"/>'s portions run between
    /// stretches of the first chain's k loop, so that independent work (the previous tile's gate math) sits among
    /// the multiply-adds in program order and the core overlaps the two. The sums are the same bits: a chain is
    /// only paused, its accumulators kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Sum<TS, TV, T, TRows, TGates, TWork>(int k, T* a, nint lda, T* panel, T* z, bool accumulate, ref TWork work, T* bias = null)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
        where TRows : struct, IRows where TGates : struct, IGateCount where TWork : struct, IChainWork
    {
        // The pieces cut the k range as the GEMM cuts [A, 1]·[panel; bias], the bias as row k.
        int total = bias is null ? k : k + 1;
        if (total <= 0)
        {
            for (int s = 0; s < work.Portions; s++) work.Run(s);
            return;
        }
        int depth = GemmEpilogue.ChainDepth;
        nint rowElements = TGates.Count * TS.Count;
        int first = Math.Min(depth, total);
        Chain<TS, TV, T, TRows, TGates, TWork>(Math.Min(first, k), a, lda, panel, z, accumulate, ref work, first == total ? bias : null);
        var none = default(NoChainWork);
        for (int p = depth; p < total; p += depth)
        {
            int len = Math.Min(depth, total - p);
            Chain<TS, TV, T, TRows, TGates, NoChainWork>(Math.Min(len, k - p), a + p, lda, panel + p * rowElements, z, accumulate: true, ref none,
                p + len == total ? bias : null);
        }
    }

    /// <summary>One chain of at most the chain depth (see <see cref="Sum{TS, TV, T, TRows, TGates, TWork}"/>), its k loop cut into
    /// <c>work.Portions + 1</c> stretches with one portion of the work after each but the last, so that every portion
    /// has multiply-adds after it to overlap with (measured 2–3 % faster in the LSTM step than a portion after the
    /// last stretch too).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Chain<TS, TV, T, TRows, TGates, TWork>(int len, T* a, nint lda, T* b, T* z, bool accumulate, ref TWork work, T* bias)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
        where TRows : struct, IRows where TGates : struct, IGateCount where TWork : struct, IChainWork
    {
        nuint v = (nuint)TS.Count;
        nint step = TGates.Count * TS.Count;
        bool four = TGates.Count > 3;
        TV c00 = TS.Zero, c01 = TS.Zero, c02 = TS.Zero, c03 = TS.Zero;
        TV c10 = TS.Zero, c11 = TS.Zero, c12 = TS.Zero, c13 = TS.Zero;
        TV c20 = TS.Zero, c21 = TS.Zero, c22 = TS.Zero, c23 = TS.Zero;
        TV c30 = TS.Zero, c31 = TS.Zero, c32 = TS.Zero, c33 = TS.Zero;
        T* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda;
        int portions = work.Portions, stretches = portions + 1;
        nint p = 0, stretch = len / stretches;
        for (int s = 0; s < stretches; s++)
        {
            nint end = s == stretches - 1 ? len : p + stretch;
            for (; p < end; p++)
            {
                TV b0 = TS.Load(ref *b, 0), b1 = TS.Load(ref *b, v), b2 = TS.Load(ref *b, 2 * v);
                TV b3 = four ? TS.Load(ref *b, 3 * v) : TS.Zero;
                TV x = TS.Broadcast(a[p]);
                c00 = TS.FusedMultiplyAdd(x, b0, c00); c01 = TS.FusedMultiplyAdd(x, b1, c01); c02 = TS.FusedMultiplyAdd(x, b2, c02);
                if (four) c03 = TS.FusedMultiplyAdd(x, b3, c03);
                if (TRows.Count > 1)
                {
                    x = TS.Broadcast(a1[p]);
                    c10 = TS.FusedMultiplyAdd(x, b0, c10); c11 = TS.FusedMultiplyAdd(x, b1, c11); c12 = TS.FusedMultiplyAdd(x, b2, c12);
                    if (four) c13 = TS.FusedMultiplyAdd(x, b3, c13);
                    x = TS.Broadcast(a2[p]);
                    c20 = TS.FusedMultiplyAdd(x, b0, c20); c21 = TS.FusedMultiplyAdd(x, b1, c21); c22 = TS.FusedMultiplyAdd(x, b2, c22);
                    if (four) c23 = TS.FusedMultiplyAdd(x, b3, c23);
                    x = TS.Broadcast(a3[p]);
                    c30 = TS.FusedMultiplyAdd(x, b0, c30); c31 = TS.FusedMultiplyAdd(x, b1, c31); c32 = TS.FusedMultiplyAdd(x, b2, c32);
                    if (four) c33 = TS.FusedMultiplyAdd(x, b3, c33);
                }
                b += step;
            }
            if (s < portions) work.Run(s);
        }
        if (bias is not null)
        {
            // The bias row as the chain's last term, whose input is 1: fma(1, b, c) = b + c, rounded once.
            TV b0 = TS.Load(ref *bias, 0), b1 = TS.Load(ref *bias, v), b2 = TS.Load(ref *bias, 2 * v);
            TV b3 = four ? TS.Load(ref *bias, 3 * v) : TS.Zero;
            c00 = TS.Add(c00, b0); c01 = TS.Add(c01, b1); c02 = TS.Add(c02, b2);
            if (four) c03 = TS.Add(c03, b3);
            if (TRows.Count > 1)
            {
                c10 = TS.Add(c10, b0); c11 = TS.Add(c11, b1); c12 = TS.Add(c12, b2);
                c20 = TS.Add(c20, b0); c21 = TS.Add(c21, b1); c22 = TS.Add(c22, b2);
                c30 = TS.Add(c30, b0); c31 = TS.Add(c31, b1); c32 = TS.Add(c32, b2);
                if (four) { c13 = TS.Add(c13, b3); c23 = TS.Add(c23, b3); c33 = TS.Add(c33, b3); }
            }
        }
        Store<TS, TV, T, TGates>(z, c00, c01, c02, c03, accumulate);
        if (TRows.Count > 1)
        {
            Store<TS, TV, T, TGates>(z + step, c10, c11, c12, c13, accumulate);
            Store<TS, TV, T, TGates>(z + 2 * step, c20, c21, c22, c23, accumulate);
            Store<TS, TV, T, TGates>(z + 3 * step, c30, c31, c32, c33, accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TS, TV, T, TGates>(T* z, TV x0, TV x1, TV x2, TV x3, bool accumulate)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TGates : struct, IGateCount
    {
        nuint v = (nuint)TS.Count;
        if (accumulate)
        {
            x0 = TS.Add(x0, TS.Load(ref *z, 0));
            x1 = TS.Add(x1, TS.Load(ref *z, v));
            x2 = TS.Add(x2, TS.Load(ref *z, 2 * v));
            if (TGates.Count > 3) x3 = TS.Add(x3, TS.Load(ref *z, 3 * v));
        }
        TS.Store(x0, ref *z, 0);
        TS.Store(x1, ref *z, v);
        TS.Store(x2, ref *z, 2 * v);
        if (TGates.Count > 3) TS.Store(x3, ref *z, 3 * v);
    }
}
