using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>
/// The fused SGD step for one parameter, in Keras' form (Sutskever et al., 2013, "On the importance of
/// initialization and momentum in deep learning"):
/// <code>
/// μ = 0:          w −= lr·g
/// momentum:       v = μ·v − lr·g;  w += v
/// Nesterov:       v = μ·v − lr·g;  w += μ·v − lr·g
/// </code>
/// </summary>
/// <remarks>The step is written once over <see cref="ISimd{TVector, T}"/>: every width and the scalar tail run the
/// same operations in the same order, so results are bitwise those of <see cref="ApplyReference{T}"/>.</remarks>
public static class SgdUpdate
{
    /// <summary>Applies one SGD step in place.</summary>
    /// <param name="gradient">g, the gradient.</param>
    /// <param name="learningRate">lr.</param>
    /// <param name="momentum">μ; 0 means plain SGD, and then <paramref name="velocity"/> may be empty.</param>
    /// <param name="nesterov">Whether to use Nesterov momentum.</param>
    /// <param name="velocity">v, the velocity, updated in place (unused when μ = 0).</param>
    /// <param name="weights">The weights, updated in place.</param>
    /// <exception cref="ArgumentException">A span's length differs from the gradient's.</exception>
    public static void Apply<T>(ReadOnlySpan<T> gradient, T learningRate, T momentum, bool nesterov,
        Span<T> velocity, Span<T> weights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = gradient.Length;
        bool useMomentum = momentum != T.Zero;
        if (useMomentum) OptimizerChecks.Same(n, velocity.Length, nameof(velocity));
        OptimizerChecks.Same(n, weights.Length, nameof(weights));
        ref T g0 = ref MemoryMarshal.GetReference(gradient);
        ref T v0 = ref MemoryMarshal.GetReference(velocity);
        ref T w0 = ref MemoryMarshal.GetReference(weights);
        int i = 0;
        if (Simd512<T>.IsSupported) i = Loop<Simd512<T>, Vector512<T>, T>(ref g0, ref v0, ref w0, n, i, learningRate, momentum, nesterov);
        else if (Simd256<T>.IsSupported) i = Loop<Simd256<T>, Vector256<T>, T>(ref g0, ref v0, ref w0, n, i, learningRate, momentum, nesterov);
        Loop<SimdScalar<T>, T, T>(ref g0, ref v0, ref w0, n, i, learningRate, momentum, nesterov);
    }

    /// <summary>The step for elements <c>[i, n)</c> in whole vectors of <typeparamref name="TS"/>; returns where it stopped.
    /// With μ = 0 the velocity is neither read nor written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Loop<TS, TV, T>(ref T g0, ref T v0, ref T w0, int n, int i, T learningRate, T momentum, bool nesterov)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        TV lr = TS.Broadcast(learningRate), mu = TS.Broadcast(momentum);
        if (momentum == T.Zero)
        {
            for (; i <= n - TS.Count; i += TS.Count)
            {
                nuint k = (nuint)i;
                TS.Store(TS.Subtract(TS.Load(ref w0, k), TS.Multiply(TS.Load(ref g0, k), lr)), ref w0, k);
            }
            return i;
        }
        for (; i <= n - TS.Count; i += TS.Count)
        {
            nuint k = (nuint)i;
            TV step = TS.Multiply(TS.Load(ref g0, k), lr);
            TV v = TS.Subtract(TS.Multiply(TS.Load(ref v0, k), mu), step);
            TV w = TS.Load(ref w0, k);
            w = nesterov ? TS.Add(w, TS.Subtract(TS.Multiply(v, mu), step)) : TS.Add(w, v);
            TS.Store(v, ref v0, k);
            TS.Store(w, ref w0, k);
        }
        return i;
    }

    /// <summary>The scalar reference for <see cref="Apply{T}"/>.</summary>
    /// <exception cref="ArgumentException">A span's length differs from the gradient's.</exception>
    public static void ApplyReference<T>(ReadOnlySpan<T> gradient, T learningRate, T momentum, bool nesterov,
        Span<T> velocity, Span<T> weights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = gradient.Length;
        bool useMomentum = momentum != T.Zero;
        if (useMomentum) OptimizerChecks.Same(n, velocity.Length, nameof(velocity));
        OptimizerChecks.Same(n, weights.Length, nameof(weights));
        Loop<SimdScalar<T>, T, T>(ref MemoryMarshal.GetReference(gradient), ref MemoryMarshal.GetReference(velocity),
            ref MemoryMarshal.GetReference(weights), n, 0, learningRate, momentum, nesterov);
    }
}
