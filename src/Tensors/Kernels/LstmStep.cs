using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

// B = batch rows, F' = input columns (the features, plus a column of ones when the layer has a bias), H = units,
// V = lanes per vector. Gates i, f, c(g), o packed along 4H (Keras).
// x [B, F'], hPrev/cPrev/c/h [B, H]; kernel [F', 4H] ([W; b] with a bias), recurrent kernel U [H, 4H].

/// <summary>
/// One LSTM time step as a single kernel: <c>z = [x, 1]·[W; b] + h_prev·U</c> computed in registers, a tile of
/// rows × (4 gates × V units) at a time, and the gate math (<c>σ</c>, <c>tanh</c>, the cell update) applied to
/// the tile before it leaves L1. The pre-activations z are never written to memory; training stores the activated
/// gates (what the backward pass needs), inference stores only c and h.
/// </summary>
/// <remarks>
/// <para>The weights are packed once per pass (<see cref="LstmStepWeights{T}"/>) so that one row of a unit
/// block's panel holds the i, f, g and o weights of the same V units: the micro-kernel's accumulators for a row are
/// then the four pre-activations of those units, which is what the gate math needs.</para>
/// <para>The sums are formed exactly as the unfused path forms them (the input-projection GEMM, then the recurrent
/// GEMM accumulating into it: each a fused multiply-add chain in k order, in blocks of <c>Kc</c>, each block
/// added to the running sum), and the gate math is <see cref="LstmGates"/>'s, so the results are the same bits as
/// those of <see cref="Gemm"/> followed by <see cref="LstmGates.Forward{T}"/>.</para>
/// </remarks>
public static class LstmStep
{
    /// <summary>Whether the fused step runs on this machine for <typeparamref name="T"/> (float or double with
    /// 256- or 512-bit vectors).</summary>
    public static bool IsSupported<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
        Simd512<T>.IsSupported || Simd256<T>.IsSupported;

    /// <summary>The lanes per unit block: the vector width in <typeparamref name="T"/>, 0 when not supported.</summary>
    internal static int Lanes<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
        Simd512<T>.IsSupported ? Vector512<T>.Count : Simd256<T>.IsSupported ? Vector256<T>.Count : 0;

    /// <summary>Rows per register tile: 4 rows × 4 gates = 16 accumulators.</summary>
    private const int TileRows = 4;

    /// <summary>Runs one time step for <paramref name="rows"/> batch rows.</summary>
    /// <param name="x">This step's input rows, [rows, F'] (with the trailing 1 when the weights have a bias row).</param>
    /// <param name="hPrev">The previous hidden state, [rows, H].</param>
    /// <param name="cPrev">The previous cell state, [rows, H].</param>
    /// <param name="weights">The packed <c>[W; b]</c> and <c>U</c>.</param>
    /// <param name="c">The new cell state, [rows, H]; must not overlap the inputs.</param>
    /// <param name="h">The new hidden state, [rows, H]; must not overlap the inputs.</param>
    /// <param name="rows">The number of batch rows.</param>
    /// <param name="gates">Empty for inference; for training, [rows, 4H], which receives the activated gates
    /// <c>i, f, g, o</c> exactly as <see cref="LstmGates.Forward{T}"/> leaves them for <see cref="LstmGates.Backward{T}"/>.</param>
    /// <exception cref="ArgumentException">A span is too short for its shape; the message gives the shapes.</exception>
    /// <exception cref="PlatformNotSupportedException"><see cref="IsSupported{T}"/> is false.</exception>
    public static unsafe void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> cPrev, LstmStepWeights<T> weights,
        Span<T> c, Span<T> h, int rows, Span<T> gates = default) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        int fx = weights.InputColumns, units = weights.Units;
        LstmGates.CheckLength(x.Length, rows, fx, nameof(x));
        LstmGates.CheckLength(hPrev.Length, rows, units, nameof(hPrev));
        LstmGates.CheckLength(cPrev.Length, rows, units, nameof(cPrev));
        LstmGates.CheckLength(c.Length, rows, units, nameof(c));
        LstmGates.CheckLength(h.Length, rows, units, nameof(h));
        bool keep = !gates.IsEmpty;
        if (keep) LstmGates.CheckLength(gates.Length, rows, 4 * units, nameof(gates));
        if (rows == 0 || units == 0) return;
        if (weights.Lanes != Lanes<T>())
            throw new PlatformNotSupportedException($"The weights were packed for {weights.Lanes} lanes, but this machine's vectors hold {Lanes<T>()}.");
        fixed (T* px = x, ph = hPrev, pcp = cPrev, pc = c, pho = h, pg = gates)
        {
            var a = new Args<T>
            {
                X = px, HPrev = ph, CPrev = pcp, C = pc, H = pho, Gates = pg, Weights = weights.Pointer,
                InputColumns = fx, Units = units, Rows = rows, Blocks = weights.Blocks,
            };
            if (Simd512<T>.IsSupported)
            {
                if (keep) Run<Simd512<T>, Vector512<T>, T, Yes>(ref a); else Run<Simd512<T>, Vector512<T>, T, No>(ref a);
            }
            else if (keep) Run<Simd256<T>, Vector256<T>, T, Yes>(ref a);
            else Run<Simd256<T>, Vector256<T>, T, No>(ref a);
        }
    }

    private unsafe struct Args<T> where T : unmanaged
    {
        public T* X, HPrev, CPrev, C, H, Gates, Weights;
        public int InputColumns, Units, Rows, Blocks;
    }

    private static unsafe void Run<TS, TV, T, TKeep>(ref Args<T> a)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TKeep : struct, IFlag
    {
        int v = TS.Count, fx = a.InputColumns, units = a.Units, k = fx + units;
        // z for one tile: TileRows × 4 gates × V.
        T* z = stackalloc T[TileRows * 4 * 16];
        for (int j = 0; j < a.Blocks; j++)
        {
            // Unit block j: its panel stays in L1 while every row tile uses it.
            T* panel = a.Weights + (nint)j * k * 4 * v;
            int col = j * v, valid = Math.Min(v, units - col);
            int r = 0;
            for (; r + TileRows <= a.Rows; r += TileRows)
                Tile<TS, TV, T, Rows4, TKeep>(ref a, r, panel, col, valid, z);
            for (; r < a.Rows; r++)
                Tile<TS, TV, T, Rows1, TKeep>(ref a, r, panel, col, valid, z);
        }
    }

    /// <summary>z for rows <c>r..r+TRows</c> of unit block at <paramref name="col"/>, then their gate math.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Tile<TS, TV, T, TRows, TKeep>(ref Args<T> a, int r, T* panel, int col, int valid, T* z)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TRows : struct, IRows
        where TKeep : struct, IFlag
    {
        int v = TS.Count, fx = a.InputColumns, units = a.Units, kc = GemmEpilogue.ChainDepth;
        bool first = true;
        // [x, 1]·[W; b], then h_prev·U, each in blocks of Kc as the GEMM does.
        for (int p = 0; p < fx; p += kc, first = false)
            Segment<TS, TV, T, TRows>(Math.Min(kc, fx - p), a.X + (nint)r * fx + p, fx, panel + (nint)p * 4 * v, z, first);
        T* uPanel = panel + (nint)fx * 4 * v;
        for (int p = 0; p < units; p += kc, first = false)
            Segment<TS, TV, T, TRows>(Math.Min(kc, units - p), a.HPrev + (nint)r * units + p, units, uPanel + (nint)p * 4 * v, z, first);

        for (int i = 0; i < TRows.Count; i++)
        {
            nint state = (nint)(r + i) * units + col;
            T* gates = TKeep.Value ? a.Gates + (nint)(r + i) * 4 * units + col : null;
            Gates<TS, TV, T, TKeep>(z + i * 4 * v, a.CPrev + state, a.C + state, a.H + state, gates, (nuint)units, valid, units < v);
        }
    }

    /// <summary>The k chain of one block for TRows rows × 4 vectors: <c>acc = Σ_p a[i, p]·panel[p, :]</c> as one
    /// fused multiply-add chain from zero in p order, then <c>z = acc</c> (the first block) or <c>z = acc + z</c>:
    /// the GEMM's micro-kernel and epilogue for alpha = beta = 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Segment<TS, TV, T, TRows>(int len, T* a, nint lda, T* b, T* z, bool first)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TRows : struct, IRows
    {
        nuint v = (nuint)TS.Count;
        nint step = 4 * TS.Count;
        TV c00 = TS.Zero, c01 = TS.Zero, c02 = TS.Zero, c03 = TS.Zero;
        TV c10 = TS.Zero, c11 = TS.Zero, c12 = TS.Zero, c13 = TS.Zero;
        TV c20 = TS.Zero, c21 = TS.Zero, c22 = TS.Zero, c23 = TS.Zero;
        TV c30 = TS.Zero, c31 = TS.Zero, c32 = TS.Zero, c33 = TS.Zero;
        T* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda;
        for (nint p = 0; p < len; p++)
        {
            TV b0 = TS.Load(ref *b, 0), b1 = TS.Load(ref *b, v), b2 = TS.Load(ref *b, 2 * v), b3 = TS.Load(ref *b, 3 * v);
            TV x = TS.Broadcast(a[p]);
            c00 = TS.FusedMultiplyAdd(x, b0, c00); c01 = TS.FusedMultiplyAdd(x, b1, c01);
            c02 = TS.FusedMultiplyAdd(x, b2, c02); c03 = TS.FusedMultiplyAdd(x, b3, c03);
            if (TRows.Count > 1)
            {
                x = TS.Broadcast(a1[p]);
                c10 = TS.FusedMultiplyAdd(x, b0, c10); c11 = TS.FusedMultiplyAdd(x, b1, c11);
                c12 = TS.FusedMultiplyAdd(x, b2, c12); c13 = TS.FusedMultiplyAdd(x, b3, c13);
                x = TS.Broadcast(a2[p]);
                c20 = TS.FusedMultiplyAdd(x, b0, c20); c21 = TS.FusedMultiplyAdd(x, b1, c21);
                c22 = TS.FusedMultiplyAdd(x, b2, c22); c23 = TS.FusedMultiplyAdd(x, b3, c23);
                x = TS.Broadcast(a3[p]);
                c30 = TS.FusedMultiplyAdd(x, b0, c30); c31 = TS.FusedMultiplyAdd(x, b1, c31);
                c32 = TS.FusedMultiplyAdd(x, b2, c32); c33 = TS.FusedMultiplyAdd(x, b3, c33);
            }
            b += step;
        }
        Combine<TS, TV, T>(z, c00, c01, c02, c03, first);
        if (TRows.Count > 1)
        {
            Combine<TS, TV, T>(z + step, c10, c11, c12, c13, first);
            Combine<TS, TV, T>(z + 2 * step, c20, c21, c22, c23, first);
            Combine<TS, TV, T>(z + 3 * step, c30, c31, c32, c33, first);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Combine<TS, TV, T>(T* z, TV x0, TV x1, TV x2, TV x3, bool first)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        nuint v = (nuint)TS.Count;
        if (!first)
        {
            x0 = TS.Add(x0, TS.Load(ref *z, 0));
            x1 = TS.Add(x1, TS.Load(ref *z, v));
            x2 = TS.Add(x2, TS.Load(ref *z, 2 * v));
            x3 = TS.Add(x3, TS.Load(ref *z, 3 * v));
        }
        TS.Store(x0, ref *z, 0);
        TS.Store(x1, ref *z, v);
        TS.Store(x2, ref *z, 2 * v);
        TS.Store(x3, ref *z, 3 * v);
    }

    /// <summary><see cref="LstmGates"/>' forward math for one row of one unit block, from z (i, f, g, o vectors V
    /// apart). A partial last block (<paramref name="valid"/> &lt; V) takes the lanes exactly as
    /// <see cref="LstmGates"/> does: a 256-bit block first when the whole row is narrower than V, the rest one scalar
    /// at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Gates<TS, TV, T, TKeep>(T* z, T* cPrev, T* c, T* h, T* gates, nuint units, int valid, bool narrowRow)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TKeep : struct, IFlag
    {
        nuint v = (nuint)TS.Count;
        if (valid == TS.Count)
        {
            GateLanes<TS, TV, T, TKeep>(z, v, cPrev, c, h, gates, units);
            return;
        }
        int l = 0;
        if (narrowRow && TS.Count > Vector256<T>.Count && Simd256<T>.IsSupported && valid >= Vector256<T>.Count)
        {
            GateLanes<Simd256<T>, Vector256<T>, T, TKeep>(z, v, cPrev, c, h, gates, units);
            l = Vector256<T>.Count;
        }
        for (; l < valid; l++)
            GateLanes<SimdScalar<T>, T, T, TKeep>(z + l, v, cPrev + l, c + l, h + l, TKeep.Value ? gates + l : null, units);
    }

    /// <summary>The gate math on one vector of lanes (the same operations as <see cref="LstmGates"/>' row loop).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void GateLanes<TS, TV, T, TKeep>(T* z, nuint gateStride, T* cPrev, T* c, T* h, T* gates, nuint units)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TKeep : struct, IFlag
    {
        TV i = SimdMath.Sigmoid<TS, TV, T>(TS.Load(ref *z, 0));
        TV f = SimdMath.Sigmoid<TS, TV, T>(TS.Load(ref *z, gateStride));
        TV g = SimdMath.Tanh<TS, TV, T>(TS.Load(ref *z, 2 * gateStride));
        TV o = SimdMath.Sigmoid<TS, TV, T>(TS.Load(ref *z, 3 * gateStride));
        TV cn = TS.Add(TS.Multiply(f, TS.Load(ref *cPrev, 0)), TS.Multiply(i, g));
        TS.Store(cn, ref *c, 0);
        TS.Store(TS.Multiply(o, SimdMath.Tanh<TS, TV, T>(cn)), ref *h, 0);
        if (TKeep.Value)
        {
            // The activated gates in the layer's [i | f | g | o] row layout, for the backward pass.
            TS.Store(i, ref *gates, 0);
            TS.Store(f, ref *gates, units);
            TS.Store(g, ref *gates, 2 * units);
            TS.Store(o, ref *gates, 3 * units);
        }
    }
}
