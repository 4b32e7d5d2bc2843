using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
    static abstract TVector Broadcast(T value);
    static abstract TVector Load(ref T source, nuint index);
    static abstract void Store(TVector value, ref T destination, nuint index);
    static abstract TVector Add(TVector x, TVector y);
    static abstract TVector Subtract(TVector x, TVector y);
    static abstract TVector Multiply(TVector x, TVector y);
    /// <summary><c>x &gt; 0 ? y : 0</c> per lane (false for NaN).</summary>
    static abstract TVector WherePositive(TVector x, TVector y);
    /// <summary><c>e^x</c> per lane.</summary>
    static abstract TVector Exp(TVector x);
    /// <summary>Keeps lanes <c>≥ firstLane</c>, zeroes the others.</summary>
    static abstract TVector KeepFrom(TVector x, int firstLane);
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Broadcast(T value) => Vector128.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Load(ref T source, nuint index) => Vector128.LoadUnsafe(ref source, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<T> value, ref T destination, nuint index) => value.StoreUnsafe(ref destination, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Add(Vector128<T> x, Vector128<T> y) => x + y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Subtract(Vector128<T> x, Vector128<T> y) => x - y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Multiply(Vector128<T> x, Vector128<T> y) => x * y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> WherePositive(Vector128<T> x, Vector128<T> y) => Vector128.GreaterThan(x, Vector128<T>.Zero) & y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Exp(Vector128<T> x) => typeof(T) == typeof(float)
        ? Vector128.Exp(x.AsSingle()).As<float, T>()
        : Vector128.Exp(x.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> KeepFrom(Vector128<T> x, int firstLane) => Vector128.GreaterThanOrEqual(Vector128<T>.Indices, Vector128.Create(T.CreateTruncating(firstLane))) & x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector128<T> x) => Vector128.Sum(x);
}

/// <summary>256-bit vectors.</summary>
internal readonly struct Simd256<T> : ISimd<Vector256<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static bool IsSupported => Vector256.IsHardwareAccelerated && Simd.IsVectorType<T>();
    public static int Count => Vector256<T>.Count;
    public static Vector256<T> Zero => Vector256<T>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Broadcast(T value) => Vector256.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Load(ref T source, nuint index) => Vector256.LoadUnsafe(ref source, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<T> value, ref T destination, nuint index) => value.StoreUnsafe(ref destination, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Add(Vector256<T> x, Vector256<T> y) => x + y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Subtract(Vector256<T> x, Vector256<T> y) => x - y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Multiply(Vector256<T> x, Vector256<T> y) => x * y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> WherePositive(Vector256<T> x, Vector256<T> y) => Vector256.GreaterThan(x, Vector256<T>.Zero) & y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Exp(Vector256<T> x) => typeof(T) == typeof(float)
        ? Vector256.Exp(x.AsSingle()).As<float, T>()
        : Vector256.Exp(x.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> KeepFrom(Vector256<T> x, int firstLane) => Vector256.GreaterThanOrEqual(Vector256<T>.Indices, Vector256.Create(T.CreateTruncating(firstLane))) & x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector256<T> x) => Vector256.Sum(x);
}

/// <summary>512-bit vectors.</summary>
internal readonly struct Simd512<T> : ISimd<Vector512<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static bool IsSupported => Vector512.IsHardwareAccelerated && Simd.IsVectorType<T>();
    public static int Count => Vector512<T>.Count;
    public static Vector512<T> Zero => Vector512<T>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Broadcast(T value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Load(ref T source, nuint index) => Vector512.LoadUnsafe(ref source, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<T> value, ref T destination, nuint index) => value.StoreUnsafe(ref destination, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Add(Vector512<T> x, Vector512<T> y) => x + y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Subtract(Vector512<T> x, Vector512<T> y) => x - y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Multiply(Vector512<T> x, Vector512<T> y) => x * y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> WherePositive(Vector512<T> x, Vector512<T> y) => Vector512.GreaterThan(x, Vector512<T>.Zero) & y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp(Vector512<T> x) => typeof(T) == typeof(float)
        ? Vector512.Exp(x.AsSingle()).As<float, T>()
        : Vector512.Exp(x.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> KeepFrom(Vector512<T> x, int firstLane) => Vector512.GreaterThanOrEqual(Vector512<T>.Indices, Vector512.Create(T.CreateTruncating(firstLane))) & x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector512<T> x) => Vector512.Sum(x);
}
