using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>
/// The fused Adadelta step for one parameter (Zeiler, 2012, "ADADELTA: An Adaptive Learning Rate Method"), in Keras 3's
/// form (<c>keras/src/optimizers/adadelta.py</c>), which is also PyTorch's:
/// <code>
/// a = ρ·a + (1 − ρ)·g²
/// Δ = √(d + ε)·g / √(a + ε)
/// d = ρ·d + (1 − ρ)·Δ²
/// w −= lr·Δ
/// </code>
/// The rules agree; the defaults do not (Keras: lr 1e-3, ρ 0.95, ε 1e-7; PyTorch: lr 1, ρ 0.9, ε 1e-6).
/// </summary>
/// <remarks>Written once over <see cref="ISimd{TVector, T}"/>, so every width and the scalar tail give the bits of
/// <see cref="ApplyReference{T}"/>.</remarks>
public static class AdadeltaUpdate
{
    /// <summary>Applies one Adadelta step in place.</summary>
    /// <param name="gradient">g, the gradient.</param>
    /// <param name="learningRate">lr, scaling Δ.</param>
    /// <param name="rho">ρ, the decay of both running averages.</param>
    /// <param name="epsilon">ε, added inside both square roots.</param>
    /// <param name="accumulatedGradient">a, the running average of g², updated in place.</param>
    /// <param name="accumulatedDelta">d, the running average of Δ², updated in place.</param>
    /// <param name="weights">The weights, updated in place.</param>
    /// <exception cref="ArgumentException">A span's length differs from the gradient's.</exception>
    public static void Apply<T>(ReadOnlySpan<T> gradient, T learningRate, T rho, T epsilon, Span<T> accumulatedGradient,
        Span<T> accumulatedDelta, Span<T> weights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = gradient.Length;
        Check(n, accumulatedGradient, accumulatedDelta, weights);
        T c = T.One - rho;
        ref T g0 = ref MemoryMarshal.GetReference(gradient);
        ref T a0 = ref MemoryMarshal.GetReference(accumulatedGradient);
        ref T d0 = ref MemoryMarshal.GetReference(accumulatedDelta);
        ref T w0 = ref MemoryMarshal.GetReference(weights);
        int i = 0;
        if (Simd512<T>.IsSupported) i = Loop<Simd512<T>, Vector512<T>, T>(ref g0, ref a0, ref d0, ref w0, n, i, learningRate, rho, c, epsilon);
        else if (Simd256<T>.IsSupported) i = Loop<Simd256<T>, Vector256<T>, T>(ref g0, ref a0, ref d0, ref w0, n, i, learningRate, rho, c, epsilon);
        Loop<SimdScalar<T>, T, T>(ref g0, ref a0, ref d0, ref w0, n, i, learningRate, rho, c, epsilon);
    }

    /// <summary>The step for elements <c>[i, n)</c> in whole vectors of <typeparamref name="TS"/>; returns where it stopped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Loop<TS, TV, T>(ref T g0, ref T a0, ref T d0, ref T w0, int n, int i, T learningRate, T rho, T c, T epsilon)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        TV vlr = TS.Broadcast(learningRate), vr = TS.Broadcast(rho), vc = TS.Broadcast(c), ve = TS.Broadcast(epsilon);
        for (; i <= n - TS.Count; i += TS.Count)
        {
            nuint k = (nuint)i;
            TV g = TS.Load(ref g0, k), d = TS.Load(ref d0, k);
            TV a = TS.Add(TS.Multiply(vr, TS.Load(ref a0, k)), TS.Multiply(vc, TS.Multiply(g, g)));
            TS.Store(a, ref a0, k);
            TV delta = TS.Divide(TS.Multiply(TS.Sqrt(TS.Add(d, ve)), g), TS.Sqrt(TS.Add(a, ve)));
            TS.Store(TS.Add(TS.Multiply(vr, d), TS.Multiply(vc, TS.Multiply(delta, delta))), ref d0, k);
            TS.Store(TS.Subtract(TS.Load(ref w0, k), TS.Multiply(vlr, delta)), ref w0, k);
        }
        return i;
    }

    /// <summary>The scalar reference for <see cref="Apply{T}"/>: the same operations, one element at a time.</summary>
    /// <exception cref="ArgumentException">A span's length differs from the gradient's.</exception>
    public static void ApplyReference<T>(ReadOnlySpan<T> gradient, T learningRate, T rho, T epsilon, Span<T> accumulatedGradient,
        Span<T> accumulatedDelta, Span<T> weights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(gradient.Length, accumulatedGradient, accumulatedDelta, weights);
        Loop<SimdScalar<T>, T, T>(ref MemoryMarshal.GetReference(gradient), ref MemoryMarshal.GetReference(accumulatedGradient),
            ref MemoryMarshal.GetReference(accumulatedDelta), ref MemoryMarshal.GetReference(weights), gradient.Length, 0,
            learningRate, rho, T.One - rho, epsilon);
    }

    private static void Check<T>(int n, Span<T> accumulatedGradient, Span<T> accumulatedDelta, Span<T> weights)
    {
        OptimizerChecks.Same(n, accumulatedGradient.Length, nameof(accumulatedGradient));
        OptimizerChecks.Same(n, accumulatedDelta.Length, nameof(accumulatedDelta));
        OptimizerChecks.Same(n, weights.Length, nameof(weights));
    }
}
