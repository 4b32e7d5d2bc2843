using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

// B = batch rows, F' = input columns (the features, plus a column of ones when the layer has a bias), H = units,
// V = lanes per vector. Gates z, r, h packed along 3H (Keras, reset_after = true).
// x [B, F'], hPrev/h [B, H]; kernel [F', 3H] ([W; b_in] with a bias), recurrent kernel U [H, 3H], b_rec [3H].

/// <summary>
/// One GRU time step (Keras' <c>reset_after = true</c>) as a single kernel: <c>x·W + b_in</c> and
/// <c>h_prev·U + b_rec</c> computed a tile of rows × (3 gates × V units) at a time, and <see cref="GruGates"/>'
/// gate math applied to the tile while it is in L1. Training also stores what the backward pass needs: the
/// activated gates <c>z, r, ĥ</c> and the recurrent candidate sum <c>u_h</c>.
/// </summary>
/// <remarks>The two sums stay apart (the candidate needs <c>x_h + r⊙u_h</c>) and are formed exactly as the unfused
/// path forms them: the input-projection GEMM, and the recurrent GEMM accumulating onto the broadcast recurrent
/// bias (<see cref="GateTile"/>). So the results are the bits of <see cref="Gemm"/> followed by
/// <see cref="GruGates.Forward{T}"/>.</remarks>
public static class GruStep
{
    /// <summary>Rows per register tile: 4 rows × 3 gates = 12 accumulators.</summary>
    private const int TileRows = 4;

    /// <summary>Whether the fused step runs on this machine for <typeparamref name="T"/>.</summary>
    public static bool IsSupported<T>() where T : unmanaged, IFloatingPointIeee754<T> => RecurrentStepWeights<T>.IsSupported;

    /// <summary>Runs one time step for <paramref name="rows"/> batch rows.</summary>
    /// <param name="x">This step's input rows, [rows, F'] (with the trailing 1 when the weights have a bias row).</param>
    /// <param name="hPrev">The previous hidden state, [rows, H].</param>
    /// <param name="weights">The packed <c>[W; b_in]</c> and <c>U</c>, 3 gates.</param>
    /// <param name="recurrentBias"><c>b_rec</c>, [3H]; empty without a bias.</param>
    /// <param name="h">The new hidden state, [rows, H]; must not overlap the inputs.</param>
    /// <param name="rows">The number of batch rows.</param>
    /// <param name="gates">Empty for inference; for training, [rows, 3H], which receives the activated gates
    /// <c>z, r, ĥ</c> as <see cref="GruGates.Forward{T}"/> leaves them.</param>
    /// <param name="recurrent">Empty for inference; for training, [rows, 3H], whose third block receives
    /// <c>u_h = h_prev·U_h + b_rec,h</c>, the one part of <c>u</c> that <see cref="GruGates.Backward{T}"/> reads (the
    /// z and r blocks are not written).</param>
    /// <exception cref="ArgumentException">A span is too short for its shape, only one of the training outputs is given, or
    /// the weights have another gate count; the message says which.</exception>
    /// <exception cref="PlatformNotSupportedException"><see cref="IsSupported{T}"/> is false.</exception>
    public static unsafe void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> hPrev, RecurrentStepWeights<T> weights, ReadOnlySpan<T> recurrentBias,
        Span<T> h, int rows, Span<T> gates = default, Span<T> recurrent = default) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        int fx = weights.InputColumns, units = weights.Units;
        LstmGates.CheckLength(x.Length, rows, fx, nameof(x));
        LstmGates.CheckLength(hPrev.Length, rows, units, nameof(hPrev));
        LstmGates.CheckLength(h.Length, rows, units, nameof(h));
        if (!recurrentBias.IsEmpty && recurrentBias.Length != 3 * units)
            throw new ArgumentException($"The recurrent bias has {recurrentBias.Length} elements but [{3 * units}] is needed (or none).", nameof(recurrentBias));
        bool keep = !gates.IsEmpty;
        if (keep != !recurrent.IsEmpty)
            throw new ArgumentException("Training needs both gates and recurrent ([rows, 3H] each); inference neither.", keep ? nameof(recurrent) : nameof(gates));
        if (keep)
        {
            LstmGates.CheckLength(gates.Length, rows, 3 * units, nameof(gates));
            LstmGates.CheckLength(recurrent.Length, rows, 3 * units, nameof(recurrent));
        }
        weights.CheckFor(3, RecurrentStepWeights<T>.MachineLanes);
        if (rows == 0) return;
        fixed (T* px = x, ph = hPrev, pb = recurrentBias, pho = h, pg = gates, pu = recurrent)
        {
            var a = new StepArgs<T>
            {
                X = px, HPrev = ph, RecurrentBias = pb, H = pho, Gates = pg, Recurrent = pu, Weights = weights.Pointer,
                InputColumns = fx, Units = units, Rows = rows, Blocks = weights.Blocks, BiasRow = weights.BiasRow, Steps = 1, XRow = fx,
            };
            GateTile.Dispatch<Body, T>(ref a, keep);
        }
    }

    /// <summary>The step's body: unit block by unit block, each block's panel in L1 while every row tile uses it.</summary>
    private struct Body : IFusedStep
    {
        public static unsafe void Run<TS, TV, T, TKeep>(ref StepArgs<T> a)
            where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TKeep : struct, IFlag
        {
            int v = TS.Count, fx = a.InputColumns, units = a.Units, k = fx + units, row = 3 * v;
            // The input sums and the recurrent sums of one tile (TileRows × 3 gates × V each), and one row of b_rec.
            T* zx = stackalloc T[TileRows * 3 * 16];
            T* zu = stackalloc T[TileRows * 3 * 16];
            T* bias = stackalloc T[3 * 16];
            bool hasBias = a.RecurrentBias != null;
            for (int j = 0; j < a.Blocks; j++)
            {
                T* panel = a.Weights + (nint)j * k * row;
                int col = j * v, valid = Math.Min(v, units - col);
                if (hasBias)
                    for (int q = 0; q < 3; q++)
                        for (int l = 0; l < v; l++) bias[q * v + l] = l < valid ? a.RecurrentBias[q * units + col + l] : T.Zero;
                int r = 0;
                for (; r + TileRows <= a.Rows; r += TileRows)
                    Tile<TS, TV, T, Rows4, TKeep>(ref a, r, panel, col, valid, zx, zu, hasBias ? bias : null);
                for (; r < a.Rows; r++)
                    Tile<TS, TV, T, Rows1, TKeep>(ref a, r, panel, col, valid, zx, zu, hasBias ? bias : null);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Tile<TS, TV, T, TRows, TKeep>(ref StepArgs<T> a, int r, T* panel, int col, int valid, T* zx, T* zu, T* bias)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TRows : struct, IRows
        where TKeep : struct, IFlag
    {
        int v = TS.Count, fx = a.InputColumns, units = a.Units, row = 3 * v;
        // With a bias row the input sum skips the column of ones and adds the row (the same bits).
        int kx = a.BiasRow ? fx - 1 : fx;
        GateTile.Sum<TS, TV, T, TRows, ThreeGates>(kx, a.X + (nint)r * fx, fx, panel, zx, accumulate: false, a.BiasRow ? panel + (nint)kx * row : null);
        // u = b_rec broadcast, then += h_prev·U (the GEMM with beta = 1); without a bias, u = h_prev·U.
        if (bias != null)
            for (int i = 0; i < TRows.Count; i++) new ReadOnlySpan<T>(bias, row).CopyTo(new Span<T>(zu + i * row, row));
        GateTile.Sum<TS, TV, T, TRows, ThreeGates>(units, a.HPrev + (nint)r * units, units, panel + (nint)fx * row, zu, accumulate: bias != null);

        for (int i = 0; i < TRows.Count; i++)
        {
            nint state = (nint)(r + i) * units + col, wide = (nint)(r + i) * 3 * units + col;
            T* g = TKeep.Value ? a.Gates + wide : null;
            T* u = TKeep.Value ? a.Recurrent + wide : null;
            Gates<TS, TV, T, TKeep>(zx + i * row, zu + i * row, a.HPrev + state, a.H + state, g, u, (nuint)units, valid, units < v);
        }
    }

    /// <summary><see cref="GruGates"/>' forward math for one row of one unit block; a partial last block takes the
    /// lanes as <see cref="GruGates"/> does (see <see cref="LstmStep"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Gates<TS, TV, T, TKeep>(T* zx, T* zu, T* hPrev, T* h, T* gates, T* rec, nuint units, int valid, bool narrowRow)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TKeep : struct, IFlag
    {
        nuint v = (nuint)TS.Count;
        if (valid == TS.Count)
        {
            GateLanes<TS, TV, T, TKeep>(zx, zu, v, hPrev, h, gates, rec, units);
            return;
        }
        int l = 0;
        if (narrowRow && TS.Count > Vector256<T>.Count && Simd256<T>.IsSupported && valid >= Vector256<T>.Count)
        {
            GateLanes<Simd256<T>, Vector256<T>, T, TKeep>(zx, zu, v, hPrev, h, gates, rec, units);
            l = Vector256<T>.Count;
        }
        for (; l < valid; l++)
            GateLanes<SimdScalar<T>, T, T, TKeep>(zx + l, zu + l, v, hPrev + l, h + l,
                TKeep.Value ? gates + l : null, TKeep.Value ? rec + l : null, units);
    }

    /// <summary>The gate math on one vector of lanes (the same operations as <see cref="GruGates"/>' row loop).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void GateLanes<TS, TV, T, TKeep>(T* zx, T* zu, nuint gateStride, T* hPrev, T* h, T* gates, T* rec, nuint units)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TKeep : struct, IFlag
    {
        TV one = TS.Broadcast(T.One);
        TV uz = TS.Load(ref *zu, 0), ur = TS.Load(ref *zu, gateStride), uh = TS.Load(ref *zu, 2 * gateStride);
        TV z = SimdMath.Sigmoid<TS, TV, T>(TS.Add(TS.Load(ref *zx, 0), uz));
        TV r = SimdMath.Sigmoid<TS, TV, T>(TS.Add(TS.Load(ref *zx, gateStride), ur));
        TV hh = SimdMath.Tanh<TS, TV, T>(TS.Add(TS.Load(ref *zx, 2 * gateStride), TS.Multiply(r, uh)));
        TS.Store(TS.Add(TS.Multiply(z, TS.Load(ref *hPrev, 0)), TS.Multiply(TS.Subtract(one, z), hh)), ref *h, 0);
        if (TKeep.Value)
        {
            TS.Store(z, ref *gates, 0);
            TS.Store(r, ref *gates, units);
            TS.Store(hh, ref *gates, 2 * units);
            TS.Store(uh, ref *rec, 2 * units);   // GruGates.Backward reads only u_h, and overwrites all of u
        }
    }
}
