using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>
/// The fused Adamax step for one parameter (Kingma &amp; Ba, 2015, section 7.1: Adam under the infinity norm), in
/// Keras 3's form (<c>keras/src/optimizers/adamax.py</c>):
/// <code>
/// m += (g − m)·(1 − β1)
/// u = max(β2·u, |g|)
/// w −= α·m / (u + ε)               α = lr / (1 − β1^t)
/// </code>
/// PyTorch puts ε inside the maximum, <c>u = max(β2·u, |g| + ε)</c>, and divides by <c>u</c> alone; the two agree
/// when ε is negligible beside u.
/// </summary>
/// <remarks>Written once over <see cref="ISimd{TVector, T}"/>, so every width and the scalar tail give the bits of
/// <see cref="ApplyReference{T}"/>. The maximum returns <c>|g|</c> when either side is NaN, so a NaN gradient
/// reaches the weights rather than vanishing.</remarks>
public static class AdamaxUpdate
{
    /// <summary>Applies one Adamax step in place to <paramref name="m"/>, <paramref name="u"/> and <paramref name="weights"/>.</summary>
    /// <param name="gradient">g, the gradient.</param>
    /// <param name="alpha">α = lr / (1 − β1^t), the bias-corrected step size.</param>
    /// <param name="beta1">β1, the first-moment decay.</param>
    /// <param name="beta2">β2, the decay of the infinity norm.</param>
    /// <param name="epsilon">ε, added to u.</param>
    /// <param name="m">The first moment, updated in place.</param>
    /// <param name="u">The exponentially weighted infinity norm, updated in place.</param>
    /// <param name="weights">The weights, updated in place.</param>
    /// <exception cref="ArgumentException">A span's length differs from the gradient's.</exception>
    public static void Apply<T>(ReadOnlySpan<T> gradient, T alpha, T beta1, T beta2, T epsilon, Span<T> m, Span<T> u, Span<T> weights)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = gradient.Length;
        Check(n, m, u, weights);
        T c1 = T.One - beta1;
        ref T g0 = ref MemoryMarshal.GetReference(gradient);
        ref T m0 = ref MemoryMarshal.GetReference(m);
        ref T u0 = ref MemoryMarshal.GetReference(u);
        ref T w0 = ref MemoryMarshal.GetReference(weights);
        int i = 0;
        if (Simd512<T>.IsSupported) i = Loop<Simd512<T>, Vector512<T>, T>(ref g0, ref m0, ref u0, ref w0, n, i, alpha, c1, beta2, epsilon);
        else if (Simd256<T>.IsSupported) i = Loop<Simd256<T>, Vector256<T>, T>(ref g0, ref m0, ref u0, ref w0, n, i, alpha, c1, beta2, epsilon);
        Loop<SimdScalar<T>, T, T>(ref g0, ref m0, ref u0, ref w0, n, i, alpha, c1, beta2, epsilon);
    }

    /// <summary>The step for elements <c>[i, n)</c> in whole vectors of <typeparamref name="TS"/>; returns where it stopped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Loop<TS, TV, T>(ref T g0, ref T m0, ref T u0, ref T w0, int n, int i, T alpha, T c1, T beta2, T epsilon)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        TV va = TS.Broadcast(alpha), vc1 = TS.Broadcast(c1), vb2 = TS.Broadcast(beta2), ve = TS.Broadcast(epsilon);
        for (; i <= n - TS.Count; i += TS.Count)
        {
            nuint k = (nuint)i;
            TV g = TS.Load(ref g0, k), mm = TS.Load(ref m0, k);
            mm = TS.Add(mm, TS.Multiply(TS.Subtract(g, mm), vc1));
            TV uu = TS.MaxOrSecond(TS.Multiply(vb2, TS.Load(ref u0, k)), TS.Abs(g));
            TS.Store(mm, ref m0, k);
            TS.Store(uu, ref u0, k);
            TS.Store(TS.Subtract(TS.Load(ref w0, k), TS.Divide(TS.Multiply(va, mm), TS.Add(uu, ve))), ref w0, k);
        }
        return i;
    }

    /// <summary>The scalar reference for <see cref="Apply{T}"/>: the same operations, one element at a time.</summary>
    /// <exception cref="ArgumentException">A span's length differs from the gradient's.</exception>
    public static void ApplyReference<T>(ReadOnlySpan<T> gradient, T alpha, T beta1, T beta2, T epsilon, Span<T> m, Span<T> u, Span<T> weights)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(gradient.Length, m, u, weights);
        Loop<SimdScalar<T>, T, T>(ref MemoryMarshal.GetReference(gradient), ref MemoryMarshal.GetReference(m), ref MemoryMarshal.GetReference(u),
            ref MemoryMarshal.GetReference(weights), gradient.Length, 0, alpha, T.One - beta1, beta2, epsilon);
    }

    private static void Check<T>(int n, Span<T> m, Span<T> u, Span<T> weights)
    {
        OptimizerChecks.Same(n, m.Length, nameof(m));
        OptimizerChecks.Same(n, u.Length, nameof(u));
        OptimizerChecks.Same(n, weights.Length, nameof(weights));
    }
}
