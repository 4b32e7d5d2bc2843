using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nn.Simd.Tensors.Kernels.Common;

/// <summary>
/// One SIMD width as a type: the operations our loops and operators need, on <typeparamref name="TVector"/>
/// (<see cref="Vector128{T}"/>, <see cref="Vector256{T}"/> or <see cref="Vector512{T}"/>).
/// </summary>
/// <remarks>
/// The runtime's <c>ISimdVector</c> is not public, so this is our own: it lets each loop and each operator be
/// written once instead of once per width. Every member is static and the implementations are structs, so the
/// JIT specialises each (width, operator) pair and inlines everything; no virtual call or delegate remains.
/// Only <see cref="float"/> and <see cref="double"/> are vectorised (<see cref="IsSupported"/> is false for other
/// <typeparamref name="T"/>, which then take the scalar path).
/// </remarks>
internal interface ISimd<TVector, T> where TVector : struct where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Hardware-accelerated at this width, and <typeparamref name="T"/> is float or double.</summary>
    static abstract bool IsSupported { get; }
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }
    static abstract TVector Zero { get; }
    static abstract TVector One { get; }
    static abstract TVector Broadcast(T value);
    static abstract TVector Load(ref T source, nuint index);
    static abstract void Store(TVector value, ref T destination, nuint index);
    static abstract TVector Add(TVector x, TVector y);
    static abstract TVector Subtract(TVector x, TVector y);
    static abstract TVector Multiply(TVector x, TVector y);
    static abstract TVector Divide(TVector x, TVector y);
    /// <summary>√x per lane, correctly rounded (so every width gives the scalar result).</summary>
    static abstract TVector Sqrt(TVector x);
    /// <summary><c>1/x</c> for x in [1, 1e38]: for float with AVX-512 an approximate reciprocal refined by one
    /// Newton step (within about 1 ulp; a division costs several times more), else a division.</summary>
    static abstract TVector ReciprocalOfAtLeastOne(TVector x);
    /// <summary><c>x·y + z</c>, rounded once.</summary>
    static abstract TVector FusedMultiplyAdd(TVector x, TVector y, TVector z);
    static abstract TVector Abs(TVector x);
    /// <summary><c>e^clamp(x, −87, 87)</c> (for float vectors; the scalar form caps above only): as <see cref="Exp"/>,
    /// but a normal number never above 6.1e37 (for the activations; see <see cref="FastExp"/>).</summary>
    static abstract TVector ExpCapped(TVector x);
    /// <summary><c>ExpCapped(k·x)</c> bitwise, for a constant <c>k</c> = −1 or −2; with AVX-512 the scaling is folded
    /// into the constants (<see cref="FastExp.ExpCappedScaled"/>), so e^−x and e^−2x cost what e^x costs.</summary>
    static abstract TVector ExpCappedScaled(TVector x, float k);
    /// <summary><c>2^t</c> for <c>t</c> in [−150, 126] (the caller clamps): for float vectors <see cref="FastExp"/>'s cheaper
    /// gate form (absolute accuracy; t far below −126 gives 0), for double the runtime's exp of <c>t·ln 2</c>.</summary>
    static abstract TVector Pow2(TVector t);
    /// <summary>The magnitude of <c>x</c> with the sign of <c>sign</c>.</summary>
    static abstract TVector CopySign(TVector x, TVector sign);
    /// <summary><c>x &gt; 0 ? y : 0</c> per lane (false for NaN).</summary>
    static abstract TVector WherePositive(TVector x, TVector y);
    /// <summary><c>x &gt; y ? x : y</c> per lane (x86 <c>maxps</c>): <c>y</c> when either is NaN, so
    /// <c>MaxOrSecond(0, x)</c> is a ReLU that keeps NaN.</summary>
    static abstract TVector MaxOrSecond(TVector x, TVector y);
    /// <summary><c>x &lt; y ? x : y</c> per lane (x86 <c>minps</c>): <c>y</c> when either is NaN.</summary>
    static abstract TVector MinOrSecond(TVector x, TVector y);
    /// <summary><c>x &lt; limit ? ifLess : otherwise</c> per lane (<c>otherwise</c> for NaN).</summary>
    static abstract TVector WhereLess(TVector x, TVector limit, TVector ifLess, TVector otherwise);
    /// <summary><c>e^x</c> per lane: <see cref="FastExp"/> for float (within 2 ulp; results below about 2.4e-38 are
    /// flushed to zero), the runtime's vector exp for double.</summary>
    static abstract TVector Exp(TVector x);
    /// <summary><c>ln x</c> per lane: the runtime's vector log (for the softplus kernel).</summary>
    static abstract TVector Log(TVector x);
    /// <summary>Keeps lanes <c>≥ firstLane</c>, zeroes the others.</summary>
    static abstract TVector KeepFrom(TVector x, int firstLane);
    /// <summary>IEEE 754 maximum per lane (as <c>TensorPrimitives.Max</c>): NaN when either is NaN, +0 above −0.</summary>
    static abstract TVector Max(TVector x, TVector y);
    /// <summary>A lane mask: all bits set where <c>x = y</c> (never for NaN), zero elsewhere.</summary>
    static abstract TVector EqualMask(TVector x, TVector y);
    /// <summary>A lane mask: all bits set in lanes <c>≥ first</c>, zero below.</summary>
    static abstract TVector LanesFrom(int first);
    /// <summary>Bitwise <c>x &amp; y</c>.</summary>
    static abstract TVector And(TVector x, TVector y);
    /// <summary>Bitwise <c>x &amp; ~y</c>: x with the bits of y cleared.</summary>
    static abstract TVector AndNot(TVector x, TVector y);
    /// <summary>Per bit, <paramref name="ifSet"/> where <paramref name="mask"/> is set, else <paramref name="ifClear"/>.</summary>
    static abstract TVector Select(TVector mask, TVector ifSet, TVector ifClear);
    /// <summary>The sum of all lanes.</summary>
    static abstract T Sum(TVector x);
}

/// <summary>Helpers shared by the width types.</summary>
internal static class Simd
{
    /// <summary>Vectorised element types: float and double.</summary>
    public static bool IsVectorType<T>() => typeof(T) == typeof(float) || typeof(T) == typeof(double);
}

/// <summary>128-bit vectors.</summary>
internal readonly struct Simd128<T> : ISimd<Vector128<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static bool IsSupported => Vector128.IsHardwareAccelerated && Simd.IsVectorType<T>();
    public static int Count => Vector128<T>.Count;
    public static Vector128<T> Zero => Vector128<T>.Zero;
    public static Vector128<T> One => Vector128<T>.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Broadcast(T value) => Vector128.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Load(ref T source, nuint index) => Vector128.LoadUnsafe(ref source, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<T> value, ref T destination, nuint index) => value.StoreUnsafe(ref destination, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Add(Vector128<T> x, Vector128<T> y) => x + y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Subtract(Vector128<T> x, Vector128<T> y) => x - y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Multiply(Vector128<T> x, Vector128<T> y) => x * y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Divide(Vector128<T> x, Vector128<T> y) => x / y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Sqrt(Vector128<T> x) => Vector128.Sqrt(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> ReciprocalOfAtLeastOne(Vector128<T> x)
    {
        if (typeof(T) == typeof(float) && Avx512F.VL.IsSupported && Fma.IsSupported)
        {
            Vector128<float> d = x.AsSingle(), r = Avx512F.VL.Reciprocal14(x.AsSingle());
            // One Newton step, r·(2 − d·r) (vfnmadd, no negation): the relative error goes from 2^−14 to about 2^−28.
            return (Fma.MultiplyAddNegated(d, r, Vector128.Create(2f)) * r).As<float, T>();
        }
        return Vector128<T>.One / x;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> FusedMultiplyAdd(Vector128<T> x, Vector128<T> y, Vector128<T> z) => typeof(T) == typeof(float)
        ? Vector128.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>()
        : Vector128.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Abs(Vector128<T> x) => Vector128.Abs(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> ExpCapped(Vector128<T> x) => typeof(T) == typeof(float)
        ? FastExp.ExpCapped(x.AsSingle()).As<float, T>()
        : Vector128.Exp(Vector128.Min(x.AsDouble(), Vector128.Create(87.0))).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Pow2(Vector128<T> t) => typeof(T) == typeof(float)
        ? FastExp.Pow2(t.AsSingle()).As<float, T>()
        : Vector128.Exp(t.AsDouble() * Vector128.Create(Math.Log(2))).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> ExpCappedScaled(Vector128<T> x, float k) => ExpCapped(Vector128.Create(T.CreateTruncating(k)) * x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> CopySign(Vector128<T> x, Vector128<T> sign) => Vector128.CopySign(x, sign);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> WherePositive(Vector128<T> x, Vector128<T> y) => Vector128.GreaterThan(x, Vector128<T>.Zero) & y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> MaxOrSecond(Vector128<T> x, Vector128<T> y) => Vector128.MaxNative(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> MinOrSecond(Vector128<T> x, Vector128<T> y) => Vector128.MinNative(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> WhereLess(Vector128<T> x, Vector128<T> limit, Vector128<T> ifLess, Vector128<T> otherwise) => Vector128.ConditionalSelect(Vector128.LessThan(x, limit), ifLess, otherwise);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Exp(Vector128<T> x) => typeof(T) == typeof(float)
        ? FastExp.Exp(x.AsSingle()).As<float, T>()
        : Vector128.Exp(x.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Log(Vector128<T> x) => typeof(T) == typeof(float)
        ? Vector128.Log(x.AsSingle()).As<float, T>()
        : Vector128.Log(x.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> KeepFrom(Vector128<T> x, int firstLane) => LanesFrom(firstLane) & x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Max(Vector128<T> x, Vector128<T> y) => Vector128.Max(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> EqualMask(Vector128<T> x, Vector128<T> y) => Vector128.Equals(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> LanesFrom(int first) => Vector128.GreaterThanOrEqual(Vector128<T>.Indices, Vector128.Create(T.CreateTruncating(first)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> And(Vector128<T> x, Vector128<T> y) => x & y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> AndNot(Vector128<T> x, Vector128<T> y) => Vector128.AndNot(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Select(Vector128<T> mask, Vector128<T> ifSet, Vector128<T> ifClear) => Vector128.ConditionalSelect(mask, ifSet, ifClear);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector128<T> x) => Vector128.Sum(x);
}

/// <summary>256-bit vectors.</summary>
internal readonly struct Simd256<T> : ISimd<Vector256<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static bool IsSupported => Vector256.IsHardwareAccelerated && Simd.IsVectorType<T>();
    public static int Count => Vector256<T>.Count;
    public static Vector256<T> Zero => Vector256<T>.Zero;
    public static Vector256<T> One => Vector256<T>.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Broadcast(T value) => Vector256.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Load(ref T source, nuint index) => Vector256.LoadUnsafe(ref source, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<T> value, ref T destination, nuint index) => value.StoreUnsafe(ref destination, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Add(Vector256<T> x, Vector256<T> y) => x + y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Subtract(Vector256<T> x, Vector256<T> y) => x - y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Multiply(Vector256<T> x, Vector256<T> y) => x * y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Divide(Vector256<T> x, Vector256<T> y) => x / y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Sqrt(Vector256<T> x) => Vector256.Sqrt(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> ReciprocalOfAtLeastOne(Vector256<T> x)
    {
        if (typeof(T) == typeof(float) && Avx512F.VL.IsSupported && Fma.IsSupported)
        {
            Vector256<float> d = x.AsSingle(), r = Avx512F.VL.Reciprocal14(x.AsSingle());
            // One Newton step, r·(2 − d·r) (vfnmadd, no negation): the relative error goes from 2^−14 to about 2^−28.
            return (Fma.MultiplyAddNegated(d, r, Vector256.Create(2f)) * r).As<float, T>();
        }
        return Vector256<T>.One / x;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> FusedMultiplyAdd(Vector256<T> x, Vector256<T> y, Vector256<T> z) => typeof(T) == typeof(float)
        ? Vector256.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>()
        : Vector256.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Abs(Vector256<T> x) => Vector256.Abs(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> ExpCapped(Vector256<T> x) => typeof(T) == typeof(float)
        ? FastExp.ExpCapped(x.AsSingle()).As<float, T>()
        : Vector256.Exp(Vector256.Min(x.AsDouble(), Vector256.Create(87.0))).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Pow2(Vector256<T> t) => typeof(T) == typeof(float)
        ? FastExp.Pow2(t.AsSingle()).As<float, T>()
        : Vector256.Exp(t.AsDouble() * Vector256.Create(Math.Log(2))).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> ExpCappedScaled(Vector256<T> x, float k) => ExpCapped(Vector256.Create(T.CreateTruncating(k)) * x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> CopySign(Vector256<T> x, Vector256<T> sign) => Vector256.CopySign(x, sign);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> WherePositive(Vector256<T> x, Vector256<T> y) => Vector256.GreaterThan(x, Vector256<T>.Zero) & y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> MaxOrSecond(Vector256<T> x, Vector256<T> y) => Vector256.MaxNative(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> MinOrSecond(Vector256<T> x, Vector256<T> y) => Vector256.MinNative(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> WhereLess(Vector256<T> x, Vector256<T> limit, Vector256<T> ifLess, Vector256<T> otherwise) => Vector256.ConditionalSelect(Vector256.LessThan(x, limit), ifLess, otherwise);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Exp(Vector256<T> x) => typeof(T) == typeof(float)
        ? FastExp.Exp(x.AsSingle()).As<float, T>()
        : Vector256.Exp(x.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Log(Vector256<T> x) => typeof(T) == typeof(float)
        ? Vector256.Log(x.AsSingle()).As<float, T>()
        : Vector256.Log(x.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> KeepFrom(Vector256<T> x, int firstLane) => LanesFrom(firstLane) & x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Max(Vector256<T> x, Vector256<T> y) => Vector256.Max(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> EqualMask(Vector256<T> x, Vector256<T> y) => Vector256.Equals(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> LanesFrom(int first) => Vector256.GreaterThanOrEqual(Vector256<T>.Indices, Vector256.Create(T.CreateTruncating(first)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> And(Vector256<T> x, Vector256<T> y) => x & y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> AndNot(Vector256<T> x, Vector256<T> y) => Vector256.AndNot(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Select(Vector256<T> mask, Vector256<T> ifSet, Vector256<T> ifClear) => Vector256.ConditionalSelect(mask, ifSet, ifClear);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector256<T> x) => Vector256.Sum(x);
}

/// <summary>512-bit vectors.</summary>
internal readonly struct Simd512<T> : ISimd<Vector512<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static bool IsSupported => Vector512.IsHardwareAccelerated && Simd.IsVectorType<T>();
    public static int Count => Vector512<T>.Count;
    public static Vector512<T> Zero => Vector512<T>.Zero;
    public static Vector512<T> One => Vector512<T>.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Broadcast(T value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Load(ref T source, nuint index) => Vector512.LoadUnsafe(ref source, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<T> value, ref T destination, nuint index) => value.StoreUnsafe(ref destination, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Add(Vector512<T> x, Vector512<T> y) => x + y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Subtract(Vector512<T> x, Vector512<T> y) => x - y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Multiply(Vector512<T> x, Vector512<T> y) => x * y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Divide(Vector512<T> x, Vector512<T> y) => x / y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Sqrt(Vector512<T> x) => Vector512.Sqrt(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> ReciprocalOfAtLeastOne(Vector512<T> x)
    {
        if (typeof(T) == typeof(float) && Avx512F.IsSupported)
        {
            Vector512<float> d = x.AsSingle(), r = Avx512F.Reciprocal14(x.AsSingle());
            // One Newton step, r·(2 − d·r) (vfnmadd, no negation): the relative error goes from 2^−14 to about 2^−28.
            return (Avx512F.FusedMultiplyAddNegated(d, r, Vector512.Create(2f)) * r).As<float, T>();
        }
        return Vector512<T>.One / x;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> FusedMultiplyAdd(Vector512<T> x, Vector512<T> y, Vector512<T> z) => typeof(T) == typeof(float)
        ? Vector512.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>()
        : Vector512.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Abs(Vector512<T> x) => Vector512.Abs(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> ExpCapped(Vector512<T> x) => typeof(T) == typeof(float)
        ? FastExp.ExpCapped(x.AsSingle()).As<float, T>()
        : Vector512.Exp(Vector512.Min(x.AsDouble(), Vector512.Create(87.0))).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Pow2(Vector512<T> t) => typeof(T) == typeof(float)
        ? FastExp.Pow2(t.AsSingle()).As<float, T>()
        : Vector512.Exp(t.AsDouble() * Vector512.Create(Math.Log(2))).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> ExpCappedScaled(Vector512<T> x, float k) => typeof(T) == typeof(float)
        ? FastExp.ExpCappedScaled(x.AsSingle(), k).As<float, T>()
        : ExpCapped(Vector512.Create(T.CreateTruncating(k)) * x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> CopySign(Vector512<T> x, Vector512<T> sign) => Vector512.CopySign(x, sign);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> WherePositive(Vector512<T> x, Vector512<T> y) => Vector512.GreaterThan(x, Vector512<T>.Zero) & y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> MaxOrSecond(Vector512<T> x, Vector512<T> y) => Vector512.MaxNative(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> MinOrSecond(Vector512<T> x, Vector512<T> y) => Vector512.MinNative(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> WhereLess(Vector512<T> x, Vector512<T> limit, Vector512<T> ifLess, Vector512<T> otherwise) => Vector512.ConditionalSelect(Vector512.LessThan(x, limit), ifLess, otherwise);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp(Vector512<T> x) => typeof(T) == typeof(float)
        ? FastExp.Exp(x.AsSingle()).As<float, T>()
        : Vector512.Exp(x.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Log(Vector512<T> x) => typeof(T) == typeof(float)
        ? Vector512.Log(x.AsSingle()).As<float, T>()
        : Vector512.Log(x.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> KeepFrom(Vector512<T> x, int firstLane) => LanesFrom(firstLane) & x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Max(Vector512<T> x, Vector512<T> y) => Vector512.Max(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> EqualMask(Vector512<T> x, Vector512<T> y) => Vector512.Equals(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> LanesFrom(int first) => Vector512.GreaterThanOrEqual(Vector512<T>.Indices, Vector512.Create(T.CreateTruncating(first)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> And(Vector512<T> x, Vector512<T> y) => x & y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> AndNot(Vector512<T> x, Vector512<T> y) => Vector512.AndNot(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Select(Vector512<T> mask, Vector512<T> ifSet, Vector512<T> ifClear) => Vector512.ConditionalSelect(mask, ifSet, ifClear);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector512<T> x) => Vector512.Sum(x);
}

/// <summary>Scalars as a one-lane "vector", for the tails of kernels that cannot overlap their last vector (in-place
/// multi-output kernels such as the LSTM gates).</summary>
internal readonly struct SimdScalar<T> : ISimd<T, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static bool IsSupported => true;
    public static int Count => 1;
    public static T Zero => T.Zero;
    public static T One => T.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Broadcast(T value) => value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Load(ref T source, nuint index) => Unsafe.Add(ref source, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(T value, ref T destination, nuint index) => Unsafe.Add(ref destination, index) = value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Add(T x, T y) => x + y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Subtract(T x, T y) => x - y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Multiply(T x, T y) => x * y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Divide(T x, T y) => x / y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sqrt(T x) => T.Sqrt(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T ReciprocalOfAtLeastOne(T x) => T.One / x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T FusedMultiplyAdd(T x, T y, T z) => T.FusedMultiplyAdd(x, y, z);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Abs(T x) => T.Abs(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T ExpCapped(T x) => T.Exp(T.Min(x, T.CreateTruncating(87)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T ExpCappedScaled(T x, float k) => ExpCapped(T.CreateTruncating(k) * x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Pow2(T t) => T.Exp2(t);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T CopySign(T x, T sign) => T.CopySign(x, sign);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T WherePositive(T x, T y) => x > T.Zero ? y : T.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T MaxOrSecond(T x, T y) => x > y ? x : y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T MinOrSecond(T x, T y) => x < y ? x : y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T WhereLess(T x, T limit, T ifLess, T otherwise) => x < limit ? ifLess : otherwise;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Exp(T x) => T.Exp(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Log(T x) => T.Log(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T KeepFrom(T x, int firstLane) => firstLane <= 0 ? x : T.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Max(T x, T y) => T.Max(x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T EqualMask(T x, T y) => x == y ? AllBits : T.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T LanesFrom(int first) => first <= 0 ? AllBits : T.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T And(T x, T y) => FromBits(Bits(x) & Bits(y));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T AndNot(T x, T y) => FromBits(Bits(x) & ~Bits(y));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Select(T mask, T ifSet, T ifClear) => FromBits((Bits(mask) & Bits(ifSet)) | (~Bits(mask) & Bits(ifClear)));

    /// <summary>A scalar lane's bits, widened (T is 2, 4 or 8 bytes: Half, float, double).</summary>
    private static ulong Bits(T x) => Unsafe.SizeOf<T>() switch
    {
        8 => Unsafe.BitCast<T, ulong>(x),
        4 => Unsafe.BitCast<T, uint>(x),
        _ => Unsafe.BitCast<T, ushort>(x),
    };

    private static T FromBits(ulong bits) => Unsafe.SizeOf<T>() switch
    {
        8 => Unsafe.BitCast<ulong, T>(bits),
        4 => Unsafe.BitCast<uint, T>((uint)bits),
        _ => Unsafe.BitCast<ushort, T>((ushort)bits),
    };

    private static T AllBits => FromBits(ulong.MaxValue);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(T x) => x;
}

/// <summary>Activation functions written once over <see cref="ISimd{TVector, T}"/>, for the fused kernels.</summary>
internal static class SimdMath
{
    /// <summary><c>1 / (1 + e^(−x))</c> for the fused gate kernels, to about 9e−8 absolute (its relative error grows
    /// for very negative x, where σ is tiny; <see cref="SigmoidAccurate"/> is the element-wise kernel's): x clamped
    /// to ±87 (so a very negative x gives about 1.6e−38 rather than a subnormal, slow in later arithmetic),
    /// <c>e^(−x) = 2^(−x·log2 e)</c> by <see cref="ISimd{TVector, T}.Pow2"/>, and a division, not an approximate
    /// reciprocal and a Newton step: one instruction instead of three, correctly rounded, and measured a little
    /// faster in the fused LSTM step, where the divider works beside the FMA pipes the GEMM keeps busy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sigmoid<TS, TV, T>(TV x) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        // x clamped to ±87 (NaN passes: the min and max return their second operand), so that −x·log2 e is finite
        // and at most 125.6.
        TV xc = TS.MinOrSecond(TS.Broadcast(T.CreateTruncating(87)), TS.MaxOrSecond(TS.Broadcast(T.CreateTruncating(-87)), x));
        return TS.Divide(TS.One, TS.Add(TS.One, TS.Pow2(TS.Multiply(xc, TS.Broadcast(T.CreateTruncating(-Log2E))))));
    }

    /// <summary><c>1 / (1 + e^(−x))</c> within a few ulp everywhere (for the element-wise kernels), with the exponent
    /// clamped to ±87 (<see cref="ISimd{TVector, T}.ExpCappedScaled"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV SigmoidAccurate<TS, TV, T>(TV x) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
        => TS.Divide(TS.One, TS.Add(TS.One, TS.ExpCappedScaled(x, -1)));

    private const double Log2E = 1.4426950408889634074;

    /// <summary>tanh to a few ulp everywhere, for the element-wise kernel (the gates' <see cref="Tanh"/> has an
    /// absolute error near 6e−8 around 0, where its relative error grows): Cephes' odd polynomial
    /// <c>x + x³·P(x²)</c> for <c>|x| &lt; 0.625</c>, else <c>sign(x)·(1 − 2/(e^(2|x|) + 1))</c> with the exponent
    /// capped (tanh is 1 in float long before); both computed, one kept per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV TanhAccurate<TS, TV, T>(TV x) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        TV a = TS.Abs(x);
        TV e = TS.ExpCapped(TS.Add(a, a));
        TV large = TS.FusedMultiplyAdd(TS.Broadcast(T.CreateTruncating(-2)), TS.ReciprocalOfAtLeastOne(TS.Add(TS.One, e)), TS.One);
        TV z = TS.Multiply(x, x);
        TV p = TS.FusedMultiplyAdd(TS.Broadcast(T.CreateTruncating(-5.70498872745e-3)), z, TS.Broadcast(T.CreateTruncating(2.06390887954e-2)));
        p = TS.FusedMultiplyAdd(p, z, TS.Broadcast(T.CreateTruncating(-5.37397155531e-2)));
        p = TS.FusedMultiplyAdd(p, z, TS.Broadcast(T.CreateTruncating(1.33314422036e-1)));
        p = TS.FusedMultiplyAdd(p, z, TS.Broadcast(T.CreateTruncating(-3.33332819422e-1)));
        TV small = TS.FusedMultiplyAdd(TS.Multiply(p, z), x, x);
        return TS.WhereLess(a, TS.Broadcast(T.CreateTruncating(0.625)), small, TS.CopySign(large, x));
    }

    /// <summary><c>e^x − 1</c> without the cancellation of <c>e^x − 1</c> near 0: for <c>|x| &lt; 1</c> the Taylor
    /// series <c>x + x²·(1/2! + x/3! + … + x⁹/11!)</c> (truncated below 2e−9 relative), else <c>e^x − 1</c> with
    /// <c>ISimd.Exp</c>. Within a few float ulp for x ≤ 0 (the ELU side); up to about 4 ulp just above 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV ExpM1<TS, TV, T>(TV x) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Horner from 1/11! down to 1/2!.
        TV p = TS.Broadcast(T.CreateTruncating(1.0 / 39916800));
        p = TS.FusedMultiplyAdd(p, x, TS.Broadcast(T.CreateTruncating(1.0 / 3628800)));
        p = TS.FusedMultiplyAdd(p, x, TS.Broadcast(T.CreateTruncating(1.0 / 362880)));
        p = TS.FusedMultiplyAdd(p, x, TS.Broadcast(T.CreateTruncating(1.0 / 40320)));
        p = TS.FusedMultiplyAdd(p, x, TS.Broadcast(T.CreateTruncating(1.0 / 5040)));
        p = TS.FusedMultiplyAdd(p, x, TS.Broadcast(T.CreateTruncating(1.0 / 720)));
        p = TS.FusedMultiplyAdd(p, x, TS.Broadcast(T.CreateTruncating(1.0 / 120)));
        p = TS.FusedMultiplyAdd(p, x, TS.Broadcast(T.CreateTruncating(1.0 / 24)));
        p = TS.FusedMultiplyAdd(p, x, TS.Broadcast(T.CreateTruncating(1.0 / 6)));
        p = TS.FusedMultiplyAdd(p, x, TS.Broadcast(T.CreateTruncating(0.5)));
        TV small = TS.FusedMultiplyAdd(p, TS.Multiply(x, x), x);
        return TS.WhereLess(TS.Abs(x), TS.One, small, TS.Subtract(TS.Exp(x), TS.One));
    }

    /// <summary><c>sign(x)·(1 − e)/(1 + e)</c> with <c>e = e^(−2|x|)</c>, which cannot overflow; for the fused gate
    /// kernels. Its absolute error is under 1e−7 everywhere (9.2e−8 measured on a sweep of [−100, 100]; near 0 its
    /// relative error grows; <see cref="TanhAccurate"/> is the element-wise kernel's). Computing on |x| costs two
    /// logic instructions but keeps tanh odd to the bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Tanh<TS, TV, T>(TV x) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        // e = 2^(−2|x|·log2 e), the exponent clamped at −150 (e is 0 in float long before; an infinite x gives a
        // number, so the reduction inside Pow2 cannot meet ∞ − ∞).
        TV t = TS.MaxOrSecond(TS.Broadcast(T.CreateTruncating(-150)), TS.Multiply(TS.Abs(x), TS.Broadcast(T.CreateTruncating(-2 * Log2E))));
        TV e = TS.Pow2(t);
        return TS.CopySign(TS.Divide(TS.Subtract(TS.One, e), TS.Add(TS.One, e)), x);
    }

    /// <summary><see cref="Tanh"/> of four vectors at once, stage by stage, so that their four dependency chains run
    /// side by side; each result is <see cref="Tanh"/>'s, bit for bit (the same operations on each vector).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tanh4<TS, TV, T>(ref TV x0, ref TV x1, ref TV x2, ref TV x3) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        TV low = TS.Broadcast(T.CreateTruncating(-150)), scale = TS.Broadcast(T.CreateTruncating(-2 * Log2E));
        TV t0 = TS.MaxOrSecond(low, TS.Multiply(TS.Abs(x0), scale)), t1 = TS.MaxOrSecond(low, TS.Multiply(TS.Abs(x1), scale));
        TV t2 = TS.MaxOrSecond(low, TS.Multiply(TS.Abs(x2), scale)), t3 = TS.MaxOrSecond(low, TS.Multiply(TS.Abs(x3), scale));
        TV e0 = TS.Pow2(t0), e1 = TS.Pow2(t1), e2 = TS.Pow2(t2), e3 = TS.Pow2(t3);
        x0 = TS.CopySign(TS.Divide(TS.Subtract(TS.One, e0), TS.Add(TS.One, e0)), x0);
        x1 = TS.CopySign(TS.Divide(TS.Subtract(TS.One, e1), TS.Add(TS.One, e1)), x1);
        x2 = TS.CopySign(TS.Divide(TS.Subtract(TS.One, e2), TS.Add(TS.One, e2)), x2);
        x3 = TS.CopySign(TS.Divide(TS.Subtract(TS.One, e3), TS.Add(TS.One, e3)), x3);
    }
}
