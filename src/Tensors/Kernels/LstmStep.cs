using System.Numerics;
using System.Runtime.CompilerServices;
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
/// <para>The weights are packed once per pass (<see cref="RecurrentStepWeights{T}"/>) so that one row of a unit
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
    public static bool IsSupported<T>() where T : unmanaged, IFloatingPointIeee754<T> => RecurrentStepWeights<T>.IsSupported;

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
    public static unsafe void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> cPrev, RecurrentStepWeights<T> weights,
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
        weights.CheckFor(4, RecurrentStepWeights<T>.MachineLanes);
        fixed (T* px = x, ph = hPrev, pcp = cPrev, pc = c, pho = h, pg = gates)
        {
            var a = new StepArgs<T>
            {
                X = px, HPrev = ph, CPrev = pcp, C = pc, H = pho, Gates = pg, Weights = weights.Pointer,
                InputColumns = fx, Units = units, Rows = rows, Blocks = weights.Blocks, BiasRow = weights.BiasRow, Steps = 1, XRow = fx,
            };
            GateTile.Dispatch<Body, T>(ref a, keep);
        }
    }

    /// <summary>Runs <paramref name="steps"/> time steps for <paramref name="rows"/> batch rows, each step as
    /// <see cref="Forward{T}"/> runs it (the same bits), with the states kept in a cache of every step: the layout of a
    /// recurrent layer's forward pass.</summary>
    /// <remarks>One call instead of one per step lets the last tile's gate math of a step run inside the next step's
    /// first sums, which read other rows (with 8 rows or more; with fewer, every step finishes its own gate math).</remarks>
    /// <param name="x">The inputs: step s's row r at <c>s·xStepStride + r·xRowStride</c>, F' columns, or F' − 1 when
    /// the weights have a bias row (<see cref="RecurrentStepWeights{T}.BiasRow"/>: the column of ones is then not read,
    /// so the rows can be the layer's own input, [B, T, F] with <c>xRowStride = T·F</c> and <c>xStepStride = F</c>).</param>
    /// <param name="xRowStride">Elements from one input row to the next; at least the columns read.</param>
    /// <param name="xStepStride">Elements from one step's input rows to the next's; not negative.</param>
    /// <param name="h">The hidden states: the initial state's rows, [rows, H], at 0, and step s's new state at
    /// <c>(s + 1)·stateStepStride</c>.</param>
    /// <param name="c">The cell states, laid out as <paramref name="h"/>; must not overlap it.</param>
    /// <param name="stateStepStride">Elements from one step's state rows to the next's; at least rows·H.</param>
    /// <param name="weights">The packed <c>[W; b]</c> and <c>U</c>.</param>
    /// <param name="rows">The number of batch rows.</param>
    /// <param name="steps">The number of steps.</param>
    /// <param name="gates">Empty for inference; for training, step s's activated gates, [rows, 4H], at
    /// <c>s·gatesStepStride</c>.</param>
    /// <param name="gatesStepStride">Elements from one step's gates to the next's; at least rows·4H when
    /// <paramref name="gates"/> is given.</param>
    /// <exception cref="ArgumentException">A stride is too small, or a span too short for its layout; the message
    /// gives the shapes.</exception>
    /// <exception cref="PlatformNotSupportedException"><see cref="IsSupported{T}"/> is false.</exception>
    public static unsafe void ForwardSequence<T>(ReadOnlySpan<T> x, int xRowStride, int xStepStride, Span<T> h, Span<T> c, int stateStepStride,
        RecurrentStepWeights<T> weights, int rows, int steps, Span<T> gates = default, int gatesStepStride = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        int fx = weights.InputColumns, units = weights.Units;
        bool keep = !gates.IsEmpty;
        int columns = weights.BiasRow ? fx - 1 : fx;
        if (xRowStride < columns)
            throw new ArgumentException($"An input row stride of {xRowStride} is less than the {columns} columns read.", nameof(xRowStride));
        ArgumentOutOfRangeException.ThrowIfNegative(xStepStride);
        long xNeeded = rows == 0 || steps == 0 || columns == 0 ? 0 : (long)(steps - 1) * xStepStride + (long)(rows - 1) * xRowStride + columns;
        if (x.Length < xNeeded)
            throw new ArgumentException($"x has {x.Length} elements but {steps} steps of {rows} rows of {columns} columns, rows {xRowStride} and steps {xStepStride} apart, need {xNeeded}.", nameof(x));
        CheckStrided(h.Length, stateStepStride, steps + 1, rows, units, nameof(h), nameof(stateStepStride));
        CheckStrided(c.Length, stateStepStride, steps + 1, rows, units, nameof(c), nameof(stateStepStride));
        if (keep) CheckStrided(gates.Length, gatesStepStride, steps, rows, 4 * units, nameof(gates), nameof(gatesStepStride));
        if (rows == 0 || units == 0 || steps == 0) return;
        weights.CheckFor(4, RecurrentStepWeights<T>.MachineLanes);
        fixed (T* px = x, ph = h, pc = c, pg = gates)
        {
            if (ph + h.Length > pc && pc + c.Length > ph)
                throw new ArgumentException("The hidden and cell state caches overlap.", nameof(c));
            var a = new StepArgs<T>
            {
                X = px, HPrev = ph, CPrev = pc, C = pc + stateStepStride, H = ph + stateStepStride, Gates = pg, Weights = weights.Pointer,
                InputColumns = fx, Units = units, Rows = rows, Blocks = weights.Blocks, BiasRow = weights.BiasRow,
                Steps = steps, XStep = xStepStride, XRow = xRowStride, StateStep = stateStepStride, GatesStep = gatesStepStride,
            };
            GateTile.Dispatch<Body, T>(ref a, keep);
        }
    }

    private static void CheckStrided(int length, int stride, int steps, int rows, int columns, string name, string strideName)
    {
        long block = (long)rows * columns;
        if (steps > 1 && stride < block)
            throw new ArgumentException($"A step stride of {stride} is less than one step's [{rows}, {columns}] ({block} elements).", strideName);
        long needed = steps == 0 ? 0 : (long)(steps - 1) * stride + block;
        if (length < needed)
            throw new ArgumentException($"{name} has {length} elements but {steps} steps of [{rows}, {columns}] with a step stride of {stride} need {needed}.", name);
    }

    /// <summary>The step's body: unit block by unit block, each block's panel in L1 while every row tile uses it.
    /// The gate math of a full tile (4 rows of a whole unit block) is deferred and run in portions inside the next
    /// tile's recurrent k loop (<see cref="PendingGates{TS, TV, T, TKeep}"/>). The gate math is a few long dependency
    /// chains (a division, a scalef and a degree-6 polynomial per gate): placed after its own tile, the core did not
    /// overlap it with the multiply-adds at all (one thread, 8 rows × 60 steps at H = 64 on Zen 4: sums alone 148 µs,
    /// gate math alone 47 µs, the step 196 µs); interleaved, the step takes 188 µs (and 643 µs instead of 658 µs at H = 128).
    /// The results are the same bits; only the order of independent work changes. Over a sequence, a step's last tile
    /// is deferred into the next step's first tile when the two are different rows (8 rows or more): at H = 64 with
    /// 16 rows × 60 steps on one thread, running the last tile's gate math alone cost 5 µs of 370.</summary>
    private struct Body : IFusedStep
    {
        // The stack buffers are always written before they are read; not zeroing them (3.3 KiB a call) took the step
        // from 187.6 to 185.3 µs at H = 64 (one thread, 8 rows × 60 steps, min of three runs; no change at H = 128).
        [SkipLocalsInit]
        public static unsafe void Run<TS, TV, T, TKeep>(ref StepArgs<T> a)
            where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TKeep : struct, IFlag
        {
            // z for one tile: TileRows × 4 gates × V; two of them for the pipelined tiles (this one and the pending one).
            const int tileElements = TileRows * 4 * 16;
            T* z = stackalloc T[tileElements];
            // 64-byte aligned: each vector of the tiles and of o on one cache line.
            byte* scratch = stackalloc byte[(2 * tileElements + TileRows * 16) * sizeof(T) + 64];
            T* zs = (T*)(((nuint)scratch + 63) & ~(nuint)63);
            var pending = new PendingGates<TS, TV, T, TKeep> { O = zs + 2 * tileElements, Units = a.Units };
            // The last full tile is rows ≥ 4 (so not the first tile's rows) only with 8 rows or more.
            bool carry = a.Rows >= 2 * TileRows;
            int n = 0;
            for (int s = 0; s < a.Steps; s++)
            {
                if (s > 0)
                {
                    a.X += a.XStep;
                    a.HPrev = a.H;
                    a.CPrev = a.C;
                    a.H += a.StateStep;
                    a.C += a.StateStep;
                    if (TKeep.Value) a.Gates += a.GatesStep;
                }
                Step(ref a, ref pending, zs, z, ref n);
                if (!carry || s == a.Steps - 1)
                    for (int p = 0; p < pending.Portions; p++) pending.Run(p);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static unsafe void Step<TS, TV, T, TKeep>(ref StepArgs<T> a, ref PendingGates<TS, TV, T, TKeep> pending, T* zs, T* z, ref int n)
            where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TKeep : struct, IFlag
        {
            int v = TS.Count, fx = a.InputColumns, units = a.Units, k = fx + units;
            // With a bias row the input sum skips the column of ones and adds the row (the same bits).
            int kx = a.BiasRow ? fx - 1 : fx;
            const int tileElements = TileRows * 4 * 16;
            for (int j = 0; j < a.Blocks; j++)
            {
                // Unit block j: its panel stays in L1 while every row tile uses it.
                T* panel = a.Weights + (nint)j * k * 4 * v;
                T* bias = a.BiasRow ? panel + (nint)kx * 4 * v : null;
                int col = j * v, valid = Math.Min(v, units - col);
                int r = 0;
                if (valid == v)
                {
                    for (; r + TileRows <= a.Rows; r += TileRows, n++)
                    {
                        T* zt = zs + (n & 1) * tileElements;
                        GateTile.Sum<TS, TV, T, Rows4, FourGates>(kx, a.X + r * a.XRow, a.XRow, panel, zt, accumulate: false, bias);
                        GateTile.Sum<TS, TV, T, Rows4, FourGates, PendingGates<TS, TV, T, TKeep>>(units, a.HPrev + (nint)r * units, units,
                            panel + (nint)fx * 4 * v, zt, accumulate: true, ref pending);
                        pending.Defer(zt, ref a, r, col);
                    }
                }
                for (; r + TileRows <= a.Rows; r += TileRows)
                    Tile<TS, TV, T, Rows4, TKeep>(ref a, r, panel, col, valid, z, kx, bias);
                for (; r < a.Rows; r++)
                    Tile<TS, TV, T, Rows1, TKeep>(ref a, r, panel, col, valid, z, kx, bias);
            }
        }
    }

    /// <summary>The gate math of one full tile (<see cref="TileRows"/> rows × one unit block of V units), in
    /// <see cref="TileRows"/> + 1 portions: each row's gates and new cell state (o kept aside), then tanh of the four
    /// cell states side by side and the hidden states. The operations are <see cref="GateLanes"/>'.</summary>
    private unsafe struct PendingGates<TS, TV, T, TKeep> : IChainWork
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TKeep : struct, IFlag
    {
        public T* Z, CPrev, C, H, Gates, O;
        public int Units;
        private bool _active;

        /// <summary>Takes the tile of rows <paramref name="r"/>.. at unit <paramref name="col"/>, whose sums are in
        /// <paramref name="z"/>, as the pending one.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Defer(T* z, ref StepArgs<T> a, int r, int col)
        {
            nint state = (nint)r * Units + col;
            Z = z;
            CPrev = a.CPrev + state;
            C = a.C + state;
            H = a.H + state;
            Gates = TKeep.Value ? a.Gates + (nint)r * 4 * Units + col : null;
            _active = true;
        }

        public readonly int Portions => _active ? TileRows + 1 : 0;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run(int portion)
        {
            nuint v = (nuint)TS.Count, units = (nuint)Units;
            if (portion < TileRows)
            {
                T* z = Z + portion * 4 * TS.Count;
                nuint row = (nuint)portion * units;
                TV i = SimdMath.Sigmoid<TS, TV, T>(TS.Load(ref *z, 0));
                TV f = SimdMath.Sigmoid<TS, TV, T>(TS.Load(ref *z, v));
                TV g = SimdMath.Tanh<TS, TV, T>(TS.Load(ref *z, 2 * v));
                TV og = SimdMath.Sigmoid<TS, TV, T>(TS.Load(ref *z, 3 * v));
                TS.Store(TS.Add(TS.Multiply(f, TS.Load(ref *CPrev, row)), TS.Multiply(i, g)), ref *C, row);
                TS.Store(og, ref *O, (nuint)portion * v);
                if (TKeep.Value)
                {
                    T* gates = Gates + portion * 4 * Units;
                    TS.Store(i, ref *gates, 0);
                    TS.Store(f, ref *gates, units);
                    TS.Store(g, ref *gates, 2 * units);
                    TS.Store(og, ref *gates, 3 * units);
                }
                return;
            }
            TV c0 = TS.Load(ref *C, 0), c1 = TS.Load(ref *C, units), c2 = TS.Load(ref *C, 2 * units), c3 = TS.Load(ref *C, 3 * units);
            SimdMath.Tanh4<TS, TV, T>(ref c0, ref c1, ref c2, ref c3);
            TS.Store(TS.Multiply(TS.Load(ref *O, 0), c0), ref *H, 0);
            TS.Store(TS.Multiply(TS.Load(ref *O, v), c1), ref *H, units);
            TS.Store(TS.Multiply(TS.Load(ref *O, 2 * v), c2), ref *H, 2 * units);
            TS.Store(TS.Multiply(TS.Load(ref *O, 3 * v), c3), ref *H, 3 * units);
            _active = false;
        }
    }

    /// <summary>z for rows <c>r..r+TRows</c> of unit block at <paramref name="col"/>, then their gate math.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Tile<TS, TV, T, TRows, TKeep>(ref StepArgs<T> a, int r, T* panel, int col, int valid, T* z, int kx, T* bias)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TRows : struct, IRows
        where TKeep : struct, IFlag
    {
        int v = TS.Count, fx = a.InputColumns, units = a.Units;
        // z = [x, 1]·[W; b], then z += h_prev·U: the input-projection GEMM, then the recurrent GEMM accumulating.
        GateTile.Sum<TS, TV, T, TRows, FourGates>(kx, a.X + r * a.XRow, a.XRow, panel, z, accumulate: false, bias);
        GateTile.Sum<TS, TV, T, TRows, FourGates>(units, a.HPrev + (nint)r * units, units, panel + (nint)fx * 4 * v, z, accumulate: true);

        for (int i = 0; i < TRows.Count; i++)
        {
            nint state = (nint)(r + i) * units + col;
            T* gates = TKeep.Value ? a.Gates + (nint)(r + i) * 4 * units + col : null;
            Gates<TS, TV, T, TKeep>(z + i * 4 * v, a.CPrev + state, a.C + state, a.H + state, gates, (nuint)units, valid, units < v);
        }
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
