using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>
/// The fused RMSprop step for one parameter (Hinton, Lecture 6e of "Neural Networks for Machine Learning";
/// centred form: Graves, 2013, arXiv:1308.0850), in Keras' form with ε <em>inside</em> the square root:
/// <code>
/// v = ρ·v + (1 − ρ)·g²
/// centred:  a = ρ·a + (1 − ρ)·g;  d = v − a² + ε      otherwise d = v + ε
/// u = lr·g / √d
/// momentum: s = μ·s + u;  w −= s                     otherwise w −= u
/// </code>
/// PyTorch (and TorchSharp) put ε outside the root, <c>lr·g / (√v + ε)</c>, with ε = 1e-8 and ρ ("alpha") = 0.99.
/// </summary>
/// <remarks>The step is written once over <see cref="ISimd{TVector, T}"/>: every width and the scalar tail run the
/// same operations in the same order, so results are bitwise those of <see cref="ApplyReference{T}"/>.</remarks>
public static class RmsPropUpdate
{
    /// <summary>Applies one RMSprop step in place.</summary>
    /// <param name="gradient">g, the gradient.</param>
    /// <param name="learningRate">lr.</param>
    /// <param name="rho">ρ, the decay of the squared-gradient average.</param>
    /// <param name="momentum">μ; 0 disables momentum, and then <paramref name="momentumBuffer"/> may be empty.</param>
    /// <param name="epsilon">ε, added to the second moment inside the square root.</param>
    /// <param name="centered">Whether to subtract the squared mean gradient.</param>
    /// <param name="velocity">v, the squared-gradient average, updated in place.</param>
    /// <param name="averageGradient">a, the gradient average (centred only; otherwise may be empty).</param>
    /// <param name="momentumBuffer">s, the momentum (μ ≠ 0 only; otherwise may be empty).</param>
    /// <param name="weights">The weights, updated in place.</param>
    /// <exception cref="ArgumentException">A needed span's length differs from the gradient's.</exception>
    public static void Apply<T>(ReadOnlySpan<T> gradient, T learningRate, T rho, T momentum, T epsilon, bool centered,
        Span<T> velocity, Span<T> averageGradient, Span<T> momentumBuffer, Span<T> weights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = gradient.Length;
        bool useMomentum = momentum != T.Zero;
        Check(n, centered, useMomentum, velocity, averageGradient, momentumBuffer, weights);
        T c = T.One - rho;
        ref T g0 = ref MemoryMarshal.GetReference(gradient);
        ref T v0 = ref MemoryMarshal.GetReference(velocity);
        ref T a0 = ref MemoryMarshal.GetReference(averageGradient);
        ref T s0 = ref MemoryMarshal.GetReference(momentumBuffer);
        ref T w0 = ref MemoryMarshal.GetReference(weights);
        int i = 0;
        if (Simd512<T>.IsSupported)
            i = Loop<Simd512<T>, Vector512<T>, T>(ref g0, ref v0, ref a0, ref s0, ref w0, n, i, learningRate, rho, c, momentum, epsilon, centered);
        else if (Simd256<T>.IsSupported)
            i = Loop<Simd256<T>, Vector256<T>, T>(ref g0, ref v0, ref a0, ref s0, ref w0, n, i, learningRate, rho, c, momentum, epsilon, centered);
        Loop<SimdScalar<T>, T, T>(ref g0, ref v0, ref a0, ref s0, ref w0, n, i, learningRate, rho, c, momentum, epsilon, centered);
    }

    /// <summary>The step for elements <c>[i, n)</c> in whole vectors of <typeparamref name="TS"/>; returns where it
    /// stopped. <c>a</c> is touched only when centred, <c>s</c> only with momentum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Loop<TS, TV, T>(ref T g0, ref T v0, ref T a0, ref T s0, ref T w0, int n, int i,
        T learningRate, T rho, T c, T momentum, T epsilon, bool centered)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool useMomentum = momentum != T.Zero;
        TV vr = TS.Broadcast(rho), vc = TS.Broadcast(c), vlr = TS.Broadcast(learningRate), ve = TS.Broadcast(epsilon), vmu = TS.Broadcast(momentum);
        for (; i <= n - TS.Count; i += TS.Count)
        {
            nuint k = (nuint)i;
            TV g = TS.Load(ref g0, k);
            TV v = TS.Add(TS.Multiply(vr, TS.Load(ref v0, k)), TS.Multiply(vc, TS.Multiply(g, g)));
            TS.Store(v, ref v0, k);
            TV d;
            if (centered)
            {
                TV a = TS.Add(TS.Multiply(vr, TS.Load(ref a0, k)), TS.Multiply(vc, g));
                TS.Store(a, ref a0, k);
                d = TS.Add(TS.Subtract(v, TS.Multiply(a, a)), ve);
            }
            else d = TS.Add(v, ve);
            TV u = TS.Divide(TS.Multiply(vlr, g), TS.Sqrt(d));
            if (useMomentum)
            {
                u = TS.Add(TS.Multiply(vmu, TS.Load(ref s0, k)), u);
                TS.Store(u, ref s0, k);
            }
            TS.Store(TS.Subtract(TS.Load(ref w0, k), u), ref w0, k);
        }
        return i;
    }

    /// <summary>The scalar reference for <see cref="Apply{T}"/>.</summary>
    /// <exception cref="ArgumentException">A needed span's length differs from the gradient's.</exception>
    public static void ApplyReference<T>(ReadOnlySpan<T> gradient, T learningRate, T rho, T momentum, T epsilon, bool centered,
        Span<T> velocity, Span<T> averageGradient, Span<T> momentumBuffer, Span<T> weights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = gradient.Length;
        bool useMomentum = momentum != T.Zero;
        Check(n, centered, useMomentum, velocity, averageGradient, momentumBuffer, weights);
        Loop<SimdScalar<T>, T, T>(ref MemoryMarshal.GetReference(gradient), ref MemoryMarshal.GetReference(velocity),
            ref MemoryMarshal.GetReference(averageGradient), ref MemoryMarshal.GetReference(momentumBuffer),
            ref MemoryMarshal.GetReference(weights), n, 0, learningRate, rho, T.One - rho, momentum, epsilon, centered);
    }

    private static void Check<T>(int n, bool centered, bool useMomentum, Span<T> velocity, Span<T> averageGradient, Span<T> momentumBuffer, Span<T> weights)
    {
        OptimizerChecks.Same(n, velocity.Length, nameof(velocity));
        if (centered) OptimizerChecks.Same(n, averageGradient.Length, nameof(averageGradient));
        if (useMomentum) OptimizerChecks.Same(n, momentumBuffer.Length, nameof(momentumBuffer));
        OptimizerChecks.Same(n, weights.Length, nameof(weights));
    }
}
