using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Nn.Simd.Tensors.Kernels.Common;

/// <summary>
/// An element-wise operator <c>r = f(x, y, s)</c> over two span elements and one scalar, written once for the
/// scalar path and once for every SIMD width (through <see cref="ISimd{TVector, T}"/>). A unary operator ignores
/// <c>y</c>; an operator without a scalar ignores <c>s</c>. The summary of each implementation is its formula.
/// </summary>
internal interface IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    static abstract T Invoke(T x, T y, T s);
    static abstract TVector Invoke<TSimd, TVector>(TVector x, TVector y, TVector s)
        where TSimd : ISimd<TVector, T> where TVector : struct;
}

/// <summary>
/// An element-wise operator <c>r = f(x, y, z)</c> over three span elements (PReLU's backward: input, upstream
/// gradient and a per-element slope), written once for the scalar path and once for every SIMD width.
/// </summary>
internal interface ITernaryElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    static abstract T Invoke(T x, T y, T z);
    static abstract TVector Invoke<TSimd, TVector>(TVector x, TVector y, TVector z)
        where TSimd : ISimd<TVector, T> where TVector : struct;
}

/// <summary>A compile-time boolean, so a loop drops its stores or its sums without a runtime branch.</summary>
internal interface IFlag { static abstract bool Value { get; } }
internal readonly struct Yes : IFlag { public static bool Value => true; }
internal readonly struct No : IFlag { public static bool Value => false; }

/// <summary>
/// The loops for <see cref="IElementOperator{T}"/>: ISA dispatch and remainder handling live here and nowhere else.
/// </summary>
/// <remarks>
/// <para>Width: the widest accelerated vector that fits the length (512, then 256, then 128 bits), else scalar.
/// Short spans thus still use a narrower vector; only spans shorter than one 128-bit vector run scalar.</para>
/// <para>Remainder: no scalar tail. The last full vector, ending exactly at the end of the span, overlaps the
/// previous one. Its inputs are loaded and its result computed <em>before</em> the main loop stores anything, and
/// stored last, so in-place use (destination == input) stays correct; overlapping lanes receive the same value
/// twice. Aggregations mask the overlapping lanes out.</para>
/// <para>The main loop handles four vectors per iteration, so an aggregation keeps four independent accumulators
/// (the add latency would otherwise bound it). Callers have checked lengths and overlap.</para>
/// </remarks>
internal static class ElementLoop
{
    /// <summary><c>destination[i] = TOp(x[i], y[i], s)</c> for <c>i &lt; x.Length</c>.</summary>
    public static void Map<T, TOp>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T s, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IElementOperator<T>
        => Run<T, TOp, Yes, No>(x, y, s, destination);

    /// <summary><c>destination[i] = TOp(x[i], y[i], s)</c>, returning <c>Σ_i destination[i]</c>.</summary>
    public static T MapAndSum<T, TOp>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T s, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IElementOperator<T>
        => Run<T, TOp, Yes, Yes>(x, y, s, destination);

    /// <summary>Returns <c>Σ_i TOp(x[i], y[i], s)</c>; writes nothing.</summary>
    public static T Sum<T, TOp>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T s)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IElementOperator<T>
        => Run<T, TOp, No, Yes>(x, y, s, default);

    /// <summary><c>destination[i] = TOp(x[i], y[i], s)</c> with the operator's scalar form only, for operators
    /// whose vector form is a float approximation (the double path of the exponential activations).</summary>
    public static void MapScalar<T, TOp>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T s, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IElementOperator<T>
    {
        ref T px = ref MemoryMarshal.GetReference(x);
        ref T py = ref MemoryMarshal.GetReference(y);
        ref T pd = ref MemoryMarshal.GetReference(destination);
        for (nuint i = 0; i < (nuint)x.Length; i++)
            Unsafe.Add(ref pd, i) = TOp.Invoke(Unsafe.Add(ref px, i), Unsafe.Add(ref py, i), s);
    }

    /// <summary><c>destination[i] = TOp(x[i], y[i], z[i])</c> for <c>i &lt; x.Length</c>; the destination may be
    /// any one of the inputs (the last, overlapping vector is computed before anything is stored).</summary>
    public static void Map3<T, TOp>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> z, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, ITernaryElementOperator<T>
    {
        int n = x.Length;
        ref T px = ref MemoryMarshal.GetReference(x);
        ref T py = ref MemoryMarshal.GetReference(y);
        ref T pz = ref MemoryMarshal.GetReference(z);
        ref T pd = ref MemoryMarshal.GetReference(destination);
        if (Simd512<T>.IsSupported && n >= Simd512<T>.Count)
            Vectorized3<T, TOp, Simd512<T>, System.Runtime.Intrinsics.Vector512<T>>(ref px, ref py, ref pz, ref pd, n);
        else if (Simd256<T>.IsSupported && n >= Simd256<T>.Count)
            Vectorized3<T, TOp, Simd256<T>, System.Runtime.Intrinsics.Vector256<T>>(ref px, ref py, ref pz, ref pd, n);
        else if (Simd128<T>.IsSupported && n >= Simd128<T>.Count)
            Vectorized3<T, TOp, Simd128<T>, System.Runtime.Intrinsics.Vector128<T>>(ref px, ref py, ref pz, ref pd, n);
        else
            for (nuint i = 0; i < (nuint)n; i++)
                Unsafe.Add(ref pd, i) = TOp.Invoke(Unsafe.Add(ref px, i), Unsafe.Add(ref py, i), Unsafe.Add(ref pz, i));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Vectorized3<T, TOp, TSimd, TVector>(ref T px, ref T py, ref T pz, ref T pd, int n)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, ITernaryElementOperator<T>
        where TSimd : ISimd<TVector, T> where TVector : struct
    {
        nuint w = (nuint)TSimd.Count, len = (nuint)n, last = len - w;
        TVector end = TOp.Invoke<TSimd, TVector>(TSimd.Load(ref px, last), TSimd.Load(ref py, last), TSimd.Load(ref pz, last));
        nuint i = 0;
        for (; i + 2 * w <= len; i += 2 * w)
        {
            TVector r0 = TOp.Invoke<TSimd, TVector>(TSimd.Load(ref px, i), TSimd.Load(ref py, i), TSimd.Load(ref pz, i));
            TVector r1 = TOp.Invoke<TSimd, TVector>(TSimd.Load(ref px, i + w), TSimd.Load(ref py, i + w), TSimd.Load(ref pz, i + w));
            TSimd.Store(r0, ref pd, i);
            TSimd.Store(r1, ref pd, i + w);
        }
        for (; i + w <= len; i += w)
            TSimd.Store(TOp.Invoke<TSimd, TVector>(TSimd.Load(ref px, i), TSimd.Load(ref py, i), TSimd.Load(ref pz, i)), ref pd, i);
        if (i < len) TSimd.Store(end, ref pd, last);
    }

    static T Run<T, TOp, TStore, TSum>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T s, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IElementOperator<T> where TStore : struct, IFlag where TSum : struct, IFlag
    {
        int n = x.Length;
        ref T px = ref MemoryMarshal.GetReference(x);
        ref T py = ref MemoryMarshal.GetReference(y);
        ref T pd = ref MemoryMarshal.GetReference(destination);
        if (Simd512<T>.IsSupported && n >= Simd512<T>.Count)
            return Vectorized<T, TOp, TStore, TSum, Simd512<T>, System.Runtime.Intrinsics.Vector512<T>>(ref px, ref py, s, ref pd, n);
        if (Simd256<T>.IsSupported && n >= Simd256<T>.Count)
            return Vectorized<T, TOp, TStore, TSum, Simd256<T>, System.Runtime.Intrinsics.Vector256<T>>(ref px, ref py, s, ref pd, n);
        if (Simd128<T>.IsSupported && n >= Simd128<T>.Count)
            return Vectorized<T, TOp, TStore, TSum, Simd128<T>, System.Runtime.Intrinsics.Vector128<T>>(ref px, ref py, s, ref pd, n);

        T sum = T.Zero;
        for (nuint i = 0; i < (nuint)n; i++)
        {
            T r = TOp.Invoke(Unsafe.Add(ref px, i), Unsafe.Add(ref py, i), s);
            if (TStore.Value) Unsafe.Add(ref pd, i) = r;
            if (TSum.Value) sum += r;
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static T Vectorized<T, TOp, TStore, TSum, TSimd, TVector>(ref T px, ref T py, T s, ref T pd, int n)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IElementOperator<T> where TStore : struct, IFlag where TSum : struct, IFlag
        where TSimd : ISimd<TVector, T> where TVector : struct
    {
        nuint w = (nuint)TSimd.Count, len = (nuint)n, last = len - w;
        TVector vs = TSimd.Broadcast(s);
        TVector end = TOp.Invoke<TSimd, TVector>(TSimd.Load(ref px, last), TSimd.Load(ref py, last), vs);
        TVector a0 = TSimd.Zero, a1 = TSimd.Zero, a2 = TSimd.Zero, a3 = TSimd.Zero;

        nuint i = 0;
        for (; i + 4 * w <= len; i += 4 * w)
        {
            TVector r0 = TOp.Invoke<TSimd, TVector>(TSimd.Load(ref px, i), TSimd.Load(ref py, i), vs);
            TVector r1 = TOp.Invoke<TSimd, TVector>(TSimd.Load(ref px, i + w), TSimd.Load(ref py, i + w), vs);
            TVector r2 = TOp.Invoke<TSimd, TVector>(TSimd.Load(ref px, i + 2 * w), TSimd.Load(ref py, i + 2 * w), vs);
            TVector r3 = TOp.Invoke<TSimd, TVector>(TSimd.Load(ref px, i + 3 * w), TSimd.Load(ref py, i + 3 * w), vs);
            if (TStore.Value)
            {
                TSimd.Store(r0, ref pd, i);
                TSimd.Store(r1, ref pd, i + w);
                TSimd.Store(r2, ref pd, i + 2 * w);
                TSimd.Store(r3, ref pd, i + 3 * w);
            }
            if (TSum.Value) { a0 = TSimd.Add(a0, r0); a1 = TSimd.Add(a1, r1); a2 = TSimd.Add(a2, r2); a3 = TSimd.Add(a3, r3); }
        }
        for (; i + w <= len; i += w)
        {
            TVector r = TOp.Invoke<TSimd, TVector>(TSimd.Load(ref px, i), TSimd.Load(ref py, i), vs);
            if (TStore.Value) TSimd.Store(r, ref pd, i);
            if (TSum.Value) a0 = TSimd.Add(a0, r);
        }
        if (i < len)
        {
            // Lanes of `end` below i - last were already done by the loops above.
            if (TStore.Value) TSimd.Store(end, ref pd, last);
            if (TSum.Value) a1 = TSimd.Add(a1, TSimd.KeepFrom(end, (int)(i - last)));
        }
        return TSum.Value ? TSimd.Sum(TSimd.Add(TSimd.Add(a0, a1), TSimd.Add(a2, a3))) : T.Zero;
    }
}
