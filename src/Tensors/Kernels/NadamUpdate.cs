using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>
/// The fused Nadam step for one parameter (Dozat, 2016, "Incorporating Nesterov Momentum into Adam"), in Keras 3's
/// form (<c>keras/src/optimizers/nadam.py</c>):
/// <code>
/// m += (g − m)·(1 − β1)
/// v += (g² − v)·(1 − β2)
/// w −= (a·m + b·g) / (√(v·r) + ε)
/// </code>
/// with the per-step scalars <c>a = lr·u_{t+1} / (1 − Π_{t+1})</c>, <c>b = lr·(1 − u_t) / (1 − Π_t)</c> and
/// <c>r = 1 / (1 − β2^t)</c>, where <c>u_t = β1·(1 − 0.5·0.96^t)</c> and <c>Π_t = u_1·…·u_t</c>; the caller computes
/// them (see <c>Nadam</c>). <c>a·m + b·g</c> is Keras' <c>lr·m̂</c> and <c>v·r</c> its <c>v̂</c>.
/// </summary>
/// <remarks>Written once over <see cref="ISimd{TVector, T}"/> (no fused multiply-add), so every width and the scalar
/// tail give the bits of <see cref="ApplyReference{T}"/>. Keras divides <c>v</c> by <c>1 − β2^t</c>; multiplying by
/// the reciprocal rounded once saves a division per element and differs by at most an ulp of <c>v̂</c>.</remarks>
public static class NadamUpdate
{
    /// <summary>Applies one Nadam step in place to <paramref name="m"/>, <paramref name="v"/> and <paramref name="weights"/>.</summary>
    /// <param name="gradient">g, the gradient.</param>
    /// <param name="momentumScale">a = lr·u_{t+1} / (1 − Π_{t+1}), the weight of the new first moment.</param>
    /// <param name="gradientScale">b = lr·(1 − u_t) / (1 − Π_t), the weight of the current gradient.</param>
    /// <param name="beta1">β1, the first-moment decay.</param>
    /// <param name="beta2">β2, the second-moment decay.</param>
    /// <param name="secondMomentCorrection">r = 1 / (1 − β2^t).</param>
    /// <param name="epsilon">ε, added to √v̂.</param>
    /// <param name="m">The first moment, updated in place.</param>
    /// <param name="v">The second moment, updated in place.</param>
    /// <param name="weights">The weights, updated in place.</param>
    /// <exception cref="ArgumentException">A span's length differs from the gradient's.</exception>
    public static void Apply<T>(ReadOnlySpan<T> gradient, T momentumScale, T gradientScale, T beta1, T beta2, T secondMomentCorrection,
        T epsilon, Span<T> m, Span<T> v, Span<T> weights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = gradient.Length;
        Check(n, m, v, weights);
        T c1 = T.One - beta1, c2 = T.One - beta2;
        ref T g0 = ref MemoryMarshal.GetReference(gradient);
        ref T m0 = ref MemoryMarshal.GetReference(m);
        ref T v0 = ref MemoryMarshal.GetReference(v);
        ref T w0 = ref MemoryMarshal.GetReference(weights);
        int i = 0;
        if (Simd512<T>.IsSupported)
            i = Loop<Simd512<T>, Vector512<T>, T>(ref g0, ref m0, ref v0, ref w0, n, i, momentumScale, gradientScale, c1, c2, secondMomentCorrection, epsilon);
        else if (Simd256<T>.IsSupported)
            i = Loop<Simd256<T>, Vector256<T>, T>(ref g0, ref m0, ref v0, ref w0, n, i, momentumScale, gradientScale, c1, c2, secondMomentCorrection, epsilon);
        Loop<SimdScalar<T>, T, T>(ref g0, ref m0, ref v0, ref w0, n, i, momentumScale, gradientScale, c1, c2, secondMomentCorrection, epsilon);
    }

    /// <summary>The step for elements <c>[i, n)</c> in whole vectors of <typeparamref name="TS"/>; returns where it stopped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Loop<TS, TV, T>(ref T g0, ref T m0, ref T v0, ref T w0, int n, int i, T a, T b, T c1, T c2, T r, T epsilon)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        TV va = TS.Broadcast(a), vb = TS.Broadcast(b), vc1 = TS.Broadcast(c1), vc2 = TS.Broadcast(c2), vr = TS.Broadcast(r), ve = TS.Broadcast(epsilon);
        for (; i <= n - TS.Count; i += TS.Count)
        {
            nuint k = (nuint)i;
            TV g = TS.Load(ref g0, k), mm = TS.Load(ref m0, k), vv = TS.Load(ref v0, k);
            mm = TS.Add(mm, TS.Multiply(TS.Subtract(g, mm), vc1));
            vv = TS.Add(vv, TS.Multiply(TS.Subtract(TS.Multiply(g, g), vv), vc2));
            TS.Store(mm, ref m0, k);
            TS.Store(vv, ref v0, k);
            TV step = TS.Add(TS.Multiply(va, mm), TS.Multiply(vb, g));
            TV denominator = TS.Add(TS.Sqrt(TS.Multiply(vv, vr)), ve);
            TS.Store(TS.Subtract(TS.Load(ref w0, k), TS.Divide(step, denominator)), ref w0, k);
        }
        return i;
    }

    /// <summary>The scalar reference for <see cref="Apply{T}"/>: the same operations, one element at a time.</summary>
    /// <exception cref="ArgumentException">A span's length differs from the gradient's.</exception>
    public static void ApplyReference<T>(ReadOnlySpan<T> gradient, T momentumScale, T gradientScale, T beta1, T beta2, T secondMomentCorrection,
        T epsilon, Span<T> m, Span<T> v, Span<T> weights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(gradient.Length, m, v, weights);
        Loop<SimdScalar<T>, T, T>(ref MemoryMarshal.GetReference(gradient), ref MemoryMarshal.GetReference(m), ref MemoryMarshal.GetReference(v),
            ref MemoryMarshal.GetReference(weights), gradient.Length, 0, momentumScale, gradientScale, T.One - beta1, T.One - beta2,
            secondMomentCorrection, epsilon);
    }

    private static void Check<T>(int n, Span<T> m, Span<T> v, Span<T> weights)
    {
        OptimizerChecks.Same(n, m.Length, nameof(m));
        OptimizerChecks.Same(n, v.Length, nameof(v));
        OptimizerChecks.Same(n, weights.Length, nameof(weights));
    }
}
