using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

// B = batch, H = units. One time step of a Keras LSTM; gates are packed i, f, c(g), o along 4H.
// gates [B, 4H] (pre-activations z = x·W + h_prev·U + b in, activated i, f, g, o out), cPrev/c/h [B, H].

/// <summary>
/// The fused gate math of one LSTM time step (Keras layout: gates packed <c>i, f, c, o</c>, sigmoid
/// recurrent activation, tanh activation), forward and backward, in one vectorised pass per row.
/// </summary>
/// <remarks>
/// <para>Forward computes, per element: <c>i = σ(z_i)</c>, <c>f = σ(z_f)</c>, <c>g = tanh(z_c)</c>,
/// <c>o = σ(z_o)</c>, <c>c = f⊙c_prev + i⊙g</c>, <c>h = o⊙tanh(c)</c>, and keeps <c>i, f, g, o</c> for the
/// backward pass, which recomputes <c>tanh(c)</c> from <c>c</c> (one tanh per unit is cheaper than a
/// <c>[T, B, H]</c> cache written and read back). The bias is expected to be folded into <c>z</c> already (the layer
/// broadcasts it before the input-projection GEMM).</para>
/// <para>The loop runs <c>Vector512</c> when accelerated, else <c>Vector256</c>, and finishes each row with a
/// scalar tail through the same generic body: the gate buffer is transformed in place, so the usual
/// overlapping last vector would apply the transformation twice. <c>tanh</c> is evaluated as
/// <c>sign(x)·(1 − e)/(1 + e)</c> with <c>e = exp(−2|x|)</c>, which cannot overflow.</para>
/// </remarks>
public static class LstmGates
{
    /// <summary>Runs the gate math of one time step forward.</summary>
    /// <param name="cPrev">The previous cell state, [batch, units].</param>
    /// <param name="gates">[batch, 4·units]: the pre-activations <c>z</c> on entry; the activated gates
    /// <c>i, f, g, o</c> on return when <paramref name="keepGates"/> is set, else unspecified.</param>
    /// <param name="c">The new cell state, [batch, units].</param>
    /// <param name="h">The new hidden state, [batch, units].</param>
    /// <param name="batch">The number of rows.</param>
    /// <param name="units">H.</param>
    /// <param name="keepGates">Store the activated gates over <paramref name="gates"/> for
    /// <see cref="Backward"/>; inference skips those four stores per unit.</param>
    /// <exception cref="ArgumentException">A span is too short for [batch, units] or [batch, 4·units].</exception>
    public static void Forward<T>(ReadOnlySpan<T> cPrev, Span<T> gates, Span<T> c, Span<T> h, int batch, int units, bool keepGates = true)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckLength(cPrev.Length, batch, units, nameof(cPrev));
        CheckLength(gates.Length, batch, 4 * units, nameof(gates));
        CheckLength(c.Length, batch, units, nameof(c));
        CheckLength(h.Length, batch, units, nameof(h));
        if (units == 0) return;
        if (keepGates) ForwardRows<T, Yes>(cPrev, gates, c, h, batch, units);
        else ForwardRows<T, No>(cPrev, gates, c, h, batch, units);
    }

    private static void ForwardRows<T, TKeep>(ReadOnlySpan<T> cPrev, Span<T> gates, Span<T> c, Span<T> h, int batch, int units)
        where T : unmanaged, IFloatingPointIeee754<T> where TKeep : struct, IFlag
    {
        int g4 = 4 * units;
        for (int b = 0; b < batch; b++)
        {
            ref T z = ref gates[b * g4];
            ref T cp = ref Unsafe.AsRef(in cPrev[b * units]);
            ref T cn = ref c[b * units];
            ref T hn = ref h[b * units];
            int j = 0;
            if (Simd512<T>.IsSupported && units >= Vector512<T>.Count)
                j = ForwardRow<Vector512<T>, Simd512<T>, T, TKeep>(ref z, ref cp, ref cn, ref hn, units, j);
            else if (Simd256<T>.IsSupported && units >= Vector256<T>.Count)
                j = ForwardRow<Vector256<T>, Simd256<T>, T, TKeep>(ref z, ref cp, ref cn, ref hn, units, j);
            ForwardRow<T, SimdScalar<T>, T, TKeep>(ref z, ref cp, ref cn, ref hn, units, j);
        }
    }

    /// <summary>Back-propagates through the gate math of one time step.</summary>
    /// <param name="gates">The activated gates <c>i, f, g, o</c> from <see cref="Forward"/>, [batch, 4·units].</param>
    /// <param name="cPrev">The previous cell state, [batch, units].</param>
    /// <param name="c">This step's cell state, [batch, units] (its tanh is recomputed rather than cached, which
    /// saves a [T, B, H] cache in training).</param>
    /// <param name="dH">The gradient with respect to this step's h (from the output and the next step), [batch, units].</param>
    /// <param name="dC">[batch, units]: the gradient with respect to this step's c carried from the next step on
    /// entry; the gradient with respect to <c>c_prev</c> (<c>dc⊙f</c>) on return.</param>
    /// <param name="dGates">The gradient with respect to the pre-activations <c>z</c>, [batch, 4·units]; may be
    /// the same memory as <paramref name="gates"/>.</param>
    /// <param name="batch">The number of rows.</param>
    /// <param name="units">H.</param>
    /// <exception cref="ArgumentException">A span is too short.</exception>
    /// <remarks>Per element: <c>dc = dC + dH⊙o⊙(1 − tanh²c)</c>, <c>dz_i = dc⊙g⊙i(1−i)</c>,
    /// <c>dz_f = dc⊙c_prev⊙f(1−f)</c>, <c>dz_c = dc⊙i⊙(1−g²)</c>, <c>dz_o = dH⊙tanh(c)⊙o(1−o)</c>,
    /// <c>dC ← dc⊙f</c>.</remarks>
    public static void Backward<T>(ReadOnlySpan<T> gates, ReadOnlySpan<T> cPrev, ReadOnlySpan<T> c, ReadOnlySpan<T> dH,
        Span<T> dC, Span<T> dGates, int batch, int units)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckLength(gates.Length, batch, 4 * units, nameof(gates));
        CheckLength(cPrev.Length, batch, units, nameof(cPrev));
        CheckLength(c.Length, batch, units, nameof(c));
        CheckLength(dH.Length, batch, units, nameof(dH));
        CheckLength(dC.Length, batch, units, nameof(dC));
        CheckLength(dGates.Length, batch, 4 * units, nameof(dGates));
        if (units == 0) return;
        int g4 = 4 * units;
        for (int b = 0; b < batch; b++)
        {
            ref T g = ref Unsafe.AsRef(in gates[b * g4]);
            ref T cp = ref Unsafe.AsRef(in cPrev[b * units]);
            ref T cc = ref Unsafe.AsRef(in c[b * units]);
            ref T dh = ref Unsafe.AsRef(in dH[b * units]);
            ref T dc = ref dC[b * units];
            ref T dz = ref dGates[b * g4];
            int j = 0;
            if (Simd512<T>.IsSupported && units >= Vector512<T>.Count)
                j = BackwardRow<Vector512<T>, Simd512<T>, T>(ref g, ref cp, ref cc, ref dh, ref dc, ref dz, units, j);
            else if (Simd256<T>.IsSupported && units >= Vector256<T>.Count)
                j = BackwardRow<Vector256<T>, Simd256<T>, T>(ref g, ref cp, ref cc, ref dh, ref dc, ref dz, units, j);
            BackwardRow<T, SimdScalar<T>, T>(ref g, ref cp, ref cc, ref dh, ref dc, ref dz, units, j);
        }
    }

    /// <summary>The scalar reference of <see cref="Forward"/>, written plainly with <c>T.Exp</c>/<c>T.Tanh</c>; used by tests.</summary>
    public static void ForwardReference<T>(ReadOnlySpan<T> cPrev, Span<T> gates, Span<T> c, Span<T> h, int batch, int units)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < units; j++)
            {
                int row = b * 4 * units, k = b * units + j;
                T i = Sigmoid(gates[row + j]), f = Sigmoid(gates[row + units + j]);
                T g = T.Tanh(gates[row + 2 * units + j]), o = Sigmoid(gates[row + 3 * units + j]);
                gates[row + j] = i; gates[row + units + j] = f; gates[row + 2 * units + j] = g; gates[row + 3 * units + j] = o;
                c[k] = f * cPrev[k] + i * g;
                h[k] = o * T.Tanh(c[k]);
            }

        static T Sigmoid(T x) => T.One / (T.One + T.Exp(-x));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ForwardRow<TV, TOps, T, TKeep>(ref T z, ref T cp, ref T cn, ref T hn, int units, int j)
        where TV : struct where TOps : ISimd<TV, T> where T : unmanaged, IFloatingPointIeee754<T> where TKeep : struct, IFlag
    {
        nuint u = (nuint)units;
        for (; j <= units - TOps.Count; j += TOps.Count)
        {
            nuint o = (nuint)j;
            TV i = SimdMath.Sigmoid<TOps, TV, T>(TOps.Load(ref z, o));
            TV f = SimdMath.Sigmoid<TOps, TV, T>(TOps.Load(ref z, u + o));
            TV g = SimdMath.Tanh<TOps, TV, T>(TOps.Load(ref z, 2 * u + o));
            TV og = SimdMath.Sigmoid<TOps, TV, T>(TOps.Load(ref z, 3 * u + o));
            TV c = TOps.Add(TOps.Multiply(f, TOps.Load(ref cp, o)), TOps.Multiply(i, g));
            TV t = SimdMath.Tanh<TOps, TV, T>(c);
            if (TKeep.Value)
            {
                TOps.Store(i, ref z, o);
                TOps.Store(f, ref z, u + o);
                TOps.Store(g, ref z, 2 * u + o);
                TOps.Store(og, ref z, 3 * u + o);
            }
            TOps.Store(c, ref cn, o);
            TOps.Store(TOps.Multiply(og, t), ref hn, o);
        }
        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BackwardRow<TV, TOps, T>(ref T g, ref T cp, ref T cc, ref T dh, ref T dc, ref T dz, int units, int j)
        where TV : struct where TOps : ISimd<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        nuint u = (nuint)units;
        TV one = TOps.Broadcast(T.One);
        for (; j <= units - TOps.Count; j += TOps.Count)
        {
            nuint o = (nuint)j;
            TV i = TOps.Load(ref g, o), f = TOps.Load(ref g, u + o), gg = TOps.Load(ref g, 2 * u + o), og = TOps.Load(ref g, 3 * u + o);
            TV t = SimdMath.Tanh<TOps, TV, T>(TOps.Load(ref cc, o)), d = TOps.Load(ref dh, o);
            // dc = dC + dH·o·(1 − tanh²c)
            TV dcv = TOps.Add(TOps.Load(ref dc, o), TOps.Multiply(TOps.Multiply(d, og), TOps.Subtract(one, TOps.Multiply(t, t))));
            TV di = TOps.Multiply(TOps.Multiply(dcv, gg), TOps.Multiply(i, TOps.Subtract(one, i)));
            TV df = TOps.Multiply(TOps.Multiply(dcv, TOps.Load(ref cp, o)), TOps.Multiply(f, TOps.Subtract(one, f)));
            TV dg = TOps.Multiply(TOps.Multiply(dcv, i), TOps.Subtract(one, TOps.Multiply(gg, gg)));
            TV dO = TOps.Multiply(TOps.Multiply(d, t), TOps.Multiply(og, TOps.Subtract(one, og)));
            TOps.Store(TOps.Multiply(dcv, f), ref dc, o);
            TOps.Store(di, ref dz, o);
            TOps.Store(df, ref dz, u + o);
            TOps.Store(dg, ref dz, 2 * u + o);
            TOps.Store(dO, ref dz, 3 * u + o);
        }
        return j;
    }

    internal static void CheckLength(int length, int rows, int cols, string name)
    {
        if (rows < 0 || cols < 0)
            throw new ArgumentException($"Dimensions must be non-negative; got [{rows}, {cols}].", name);
        if (length < (long)rows * cols)
            throw new ArgumentException($"{name} has {length} elements but [{rows}, {cols}] needs {(long)rows * cols}.", name);
    }
}
