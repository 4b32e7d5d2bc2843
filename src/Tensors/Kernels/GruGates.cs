using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

// B = batch, H = units. One time step of a Keras GRU with reset_after = true; gates packed z, r, h along 3H.
// gates [B, 3H] (x·W + b_input in; activated z, r, ĥ out), rec [B, 3H] (h_prev·U + b_recurrent), hPrev/h [B, H].

/// <summary>
/// The fused gate math of one GRU time step in Keras' <c>reset_after = true</c> form (gates packed
/// <c>z, r, h</c>, sigmoid recurrent activation, tanh activation), forward and backward.
/// </summary>
/// <remarks>
/// Forward, per element, with <c>x = x_t·W + b_in</c> and <c>u = h_prev·U + b_rec</c> split by gate:
/// <c>z = σ(x_z + u_z)</c>, <c>r = σ(x_r + u_r)</c>, <c>ĥ = tanh(x_h + r⊙u_h)</c>,
/// <c>h = z⊙h_prev + (1 − z)⊙ĥ</c>. Vector widths and the scalar tail are as in <see cref="LstmGates"/>.
/// </remarks>
public static class GruGates
{
    /// <summary>Runs the gate math of one time step forward.</summary>
    /// <param name="hPrev">The previous hidden state, [batch, units].</param>
    /// <param name="recurrent">The recurrent projection <c>h_prev·U + b_rec</c>, [batch, 3·units]; kept for backward.</param>
    /// <param name="gates">[batch, 3·units]: the input projection <c>x·W + b_in</c> on entry, the activated
    /// <c>z, r, ĥ</c> on return.</param>
    /// <param name="h">The new hidden state, [batch, units].</param>
    /// <param name="batch">The number of rows.</param>
    /// <param name="units">H.</param>
    /// <exception cref="ArgumentException">A span is too short.</exception>
    public static void Forward<T>(ReadOnlySpan<T> hPrev, ReadOnlySpan<T> recurrent, Span<T> gates, Span<T> h, int batch, int units)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        LstmGates.CheckLength(hPrev.Length, batch, units, nameof(hPrev));
        LstmGates.CheckLength(recurrent.Length, batch, 3 * units, nameof(recurrent));
        LstmGates.CheckLength(gates.Length, batch, 3 * units, nameof(gates));
        LstmGates.CheckLength(h.Length, batch, units, nameof(h));
        if (units == 0) return;
        int g3 = 3 * units;
        for (int b = 0; b < batch; b++)
        {
            ref T hp = ref Unsafe.AsRef(in hPrev[b * units]);
            ref T u = ref Unsafe.AsRef(in recurrent[b * g3]);
            ref T x = ref gates[b * g3];
            ref T hn = ref h[b * units];
            int j = 0;
            if (Simd512<T>.IsSupported && units >= Vector512<T>.Count)
                j = ForwardRow<Vector512<T>, Simd512<T>, T>(ref hp, ref u, ref x, ref hn, units, j);
            else if (Simd256<T>.IsSupported && units >= Vector256<T>.Count)
                j = ForwardRow<Vector256<T>, Simd256<T>, T>(ref hp, ref u, ref x, ref hn, units, j);
            ForwardRow<T, SimdScalar<T>, T>(ref hp, ref u, ref x, ref hn, units, j);
        }
    }

    /// <summary>Back-propagates through the gate math of one time step.</summary>
    /// <param name="gates">The activated <c>z, r, ĥ</c> from <see cref="Forward"/>, [batch, 3·units].</param>
    /// <param name="hPrev">The previous hidden state, [batch, units].</param>
    /// <param name="dH">The gradient with respect to this step's h, [batch, units].</param>
    /// <param name="recurrent">[batch, 3·units]: the recurrent projection <c>u</c> on entry; on return the
    /// gradient with respect to it, <c>[dz, dr, dĥ_pre⊙r]</c> (pre-activation gradients).</param>
    /// <param name="dGates">The gradient with respect to the input projection, <c>[dz, dr, dĥ_pre]</c>,
    /// [batch, 3·units]; may be the same memory as <paramref name="gates"/>.</param>
    /// <param name="dHPrev">The direct part of the gradient with respect to <c>h_prev</c>, <c>dH⊙z</c>, [batch, units]
    /// (the caller adds <c>dU_part·Uᵀ</c>).</param>
    /// <param name="batch">The number of rows.</param>
    /// <param name="units">H.</param>
    /// <exception cref="ArgumentException">A span is too short.</exception>
    /// <remarks>Per element: <c>dĥ_pre = dH⊙(1 − z)⊙(1 − ĥ²)</c>, <c>dz = dH⊙(h_prev − ĥ)⊙z(1 − z)</c>,
    /// <c>dr = dĥ_pre⊙u_h⊙r(1 − r)</c>.</remarks>
    public static void Backward<T>(ReadOnlySpan<T> gates, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> dH,
        Span<T> recurrent, Span<T> dGates, Span<T> dHPrev, int batch, int units)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        LstmGates.CheckLength(gates.Length, batch, 3 * units, nameof(gates));
        LstmGates.CheckLength(hPrev.Length, batch, units, nameof(hPrev));
        LstmGates.CheckLength(dH.Length, batch, units, nameof(dH));
        LstmGates.CheckLength(recurrent.Length, batch, 3 * units, nameof(recurrent));
        LstmGates.CheckLength(dGates.Length, batch, 3 * units, nameof(dGates));
        LstmGates.CheckLength(dHPrev.Length, batch, units, nameof(dHPrev));
        if (units == 0) return;
        int g3 = 3 * units;
        for (int b = 0; b < batch; b++)
        {
            ref T g = ref Unsafe.AsRef(in gates[b * g3]);
            ref T hp = ref Unsafe.AsRef(in hPrev[b * units]);
            ref T dh = ref Unsafe.AsRef(in dH[b * units]);
            ref T u = ref recurrent[b * g3];
            ref T dx = ref dGates[b * g3];
            ref T dhp = ref dHPrev[b * units];
            int j = 0;
            if (Simd512<T>.IsSupported && units >= Vector512<T>.Count)
                j = BackwardRow<Vector512<T>, Simd512<T>, T>(ref g, ref hp, ref dh, ref u, ref dx, ref dhp, units, j);
            else if (Simd256<T>.IsSupported && units >= Vector256<T>.Count)
                j = BackwardRow<Vector256<T>, Simd256<T>, T>(ref g, ref hp, ref dh, ref u, ref dx, ref dhp, units, j);
            BackwardRow<T, SimdScalar<T>, T>(ref g, ref hp, ref dh, ref u, ref dx, ref dhp, units, j);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ForwardRow<TV, TOps, T>(ref T hp, ref T u, ref T x, ref T hn, int units, int j)
        where TV : struct where TOps : ISimd<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        nuint n = (nuint)units;
        TV one = TOps.Broadcast(T.One);
        for (; j <= units - TOps.Count; j += TOps.Count)
        {
            nuint o = (nuint)j;
            TV z = SimdMath.Sigmoid<TOps, TV, T>(TOps.Add(TOps.Load(ref x, o), TOps.Load(ref u, o)));
            TV r = SimdMath.Sigmoid<TOps, TV, T>(TOps.Add(TOps.Load(ref x, n + o), TOps.Load(ref u, n + o)));
            TV hh = SimdMath.Tanh<TOps, TV, T>(TOps.Add(TOps.Load(ref x, 2 * n + o), TOps.Multiply(r, TOps.Load(ref u, 2 * n + o))));
            TV h = TOps.Add(TOps.Multiply(z, TOps.Load(ref hp, o)), TOps.Multiply(TOps.Subtract(one, z), hh));
            TOps.Store(z, ref x, o);
            TOps.Store(r, ref x, n + o);
            TOps.Store(hh, ref x, 2 * n + o);
            TOps.Store(h, ref hn, o);
        }
        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BackwardRow<TV, TOps, T>(ref T g, ref T hp, ref T dh, ref T u, ref T dx, ref T dhp, int units, int j)
        where TV : struct where TOps : ISimd<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        nuint n = (nuint)units;
        TV one = TOps.Broadcast(T.One);
        for (; j <= units - TOps.Count; j += TOps.Count)
        {
            nuint o = (nuint)j;
            TV z = TOps.Load(ref g, o), r = TOps.Load(ref g, n + o), hh = TOps.Load(ref g, 2 * n + o);
            TV d = TOps.Load(ref dh, o), uh = TOps.Load(ref u, 2 * n + o);
            TV dah = TOps.Multiply(TOps.Multiply(d, TOps.Subtract(one, z)), TOps.Subtract(one, TOps.Multiply(hh, hh)));
            TV dz = TOps.Multiply(TOps.Multiply(d, TOps.Subtract(TOps.Load(ref hp, o), hh)), TOps.Multiply(z, TOps.Subtract(one, z)));
            TV dr = TOps.Multiply(TOps.Multiply(dah, uh), TOps.Multiply(r, TOps.Subtract(one, r)));
            TOps.Store(TOps.Multiply(d, z), ref dhp, o);
            TOps.Store(dz, ref u, o);
            TOps.Store(dr, ref u, n + o);
            TOps.Store(TOps.Multiply(dah, r), ref u, 2 * n + o);
            TOps.Store(dz, ref dx, o);
            TOps.Store(dr, ref dx, n + o);
            TOps.Store(dah, ref dx, 2 * n + o);
        }
        return j;
    }
}
