using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
/// <remarks>The vector loops and the scalar tail use the same operations in the same order, so results are
/// bitwise those of <see cref="ApplyReference{T}"/>.</remarks>
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
        if (!useMomentum)
        {
            if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
            {
                var lr = Vector512.Create(learningRate);
                for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                {
                    nuint k = (nuint)i;
                    (Vector512.LoadUnsafe(ref w0, k) - Vector512.LoadUnsafe(ref g0, k) * lr).StoreUnsafe(ref w0, k);
                }
            }
            else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            {
                var lr = Vector256.Create(learningRate);
                for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                {
                    nuint k = (nuint)i;
                    (Vector256.LoadUnsafe(ref w0, k) - Vector256.LoadUnsafe(ref g0, k) * lr).StoreUnsafe(ref w0, k);
                }
            }
            for (; i < n; i++) Unsafe.Add(ref w0, i) -= Unsafe.Add(ref g0, i) * learningRate;
            return;
        }

        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            var lr = Vector512.Create(learningRate); var mu = Vector512.Create(momentum);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                nuint k = (nuint)i;
                var step = Vector512.LoadUnsafe(ref g0, k) * lr;
                var v = Vector512.LoadUnsafe(ref v0, k) * mu - step;
                var w = Vector512.LoadUnsafe(ref w0, k);
                w = nesterov ? w + (v * mu - step) : w + v;
                v.StoreUnsafe(ref v0, k);
                w.StoreUnsafe(ref w0, k);
            }
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var lr = Vector256.Create(learningRate); var mu = Vector256.Create(momentum);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                nuint k = (nuint)i;
                var step = Vector256.LoadUnsafe(ref g0, k) * lr;
                var v = Vector256.LoadUnsafe(ref v0, k) * mu - step;
                var w = Vector256.LoadUnsafe(ref w0, k);
                w = nesterov ? w + (v * mu - step) : w + v;
                v.StoreUnsafe(ref v0, k);
                w.StoreUnsafe(ref w0, k);
            }
        }
        for (; i < n; i++) Scalar(Unsafe.Add(ref g0, i), learningRate, momentum, nesterov, ref Unsafe.Add(ref v0, i), ref Unsafe.Add(ref w0, i));
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
        for (int i = 0; i < n; i++)
        {
            if (useMomentum) Scalar(gradient[i], learningRate, momentum, nesterov, ref velocity[i], ref weights[i]);
            else weights[i] -= gradient[i] * learningRate;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scalar<T>(T g, T lr, T mu, bool nesterov, ref T v, ref T w) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T step = g * lr;
        T nv = v * mu - step;
        v = nv;
        w = nesterov ? w + (nv * mu - step) : w + nv;
    }
}
