using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
/// <remarks>Vector loops and the scalar tail use identical operations, so results are bitwise those of
/// <see cref="ApplyReference{T}"/>.</remarks>
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
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            var vr = Vector512.Create(rho); var vc = Vector512.Create(c); var vlr = Vector512.Create(learningRate);
            var ve = Vector512.Create(epsilon); var vmu = Vector512.Create(momentum);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                nuint k = (nuint)i;
                var g = Vector512.LoadUnsafe(ref g0, k);
                var v = vr * Vector512.LoadUnsafe(ref v0, k) + vc * (g * g);
                v.StoreUnsafe(ref v0, k);
                Vector512<T> d;
                if (centered)
                {
                    var a = vr * Vector512.LoadUnsafe(ref a0, k) + vc * g;
                    a.StoreUnsafe(ref a0, k);
                    d = v - a * a + ve;
                }
                else d = v + ve;
                var u = vlr * g / Vector512.Sqrt(d);
                if (useMomentum)
                {
                    u = vmu * Vector512.LoadUnsafe(ref s0, k) + u;
                    u.StoreUnsafe(ref s0, k);
                }
                (Vector512.LoadUnsafe(ref w0, k) - u).StoreUnsafe(ref w0, k);
            }
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var vr = Vector256.Create(rho); var vc = Vector256.Create(c); var vlr = Vector256.Create(learningRate);
            var ve = Vector256.Create(epsilon); var vmu = Vector256.Create(momentum);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                nuint k = (nuint)i;
                var g = Vector256.LoadUnsafe(ref g0, k);
                var v = vr * Vector256.LoadUnsafe(ref v0, k) + vc * (g * g);
                v.StoreUnsafe(ref v0, k);
                Vector256<T> d;
                if (centered)
                {
                    var a = vr * Vector256.LoadUnsafe(ref a0, k) + vc * g;
                    a.StoreUnsafe(ref a0, k);
                    d = v - a * a + ve;
                }
                else d = v + ve;
                var u = vlr * g / Vector256.Sqrt(d);
                if (useMomentum)
                {
                    u = vmu * Vector256.LoadUnsafe(ref s0, k) + u;
                    u.StoreUnsafe(ref s0, k);
                }
                (Vector256.LoadUnsafe(ref w0, k) - u).StoreUnsafe(ref w0, k);
            }
        }
        for (; i < n; i++)
            Scalar(Unsafe.Add(ref g0, i), learningRate, rho, c, momentum, epsilon, centered, useMomentum,
                ref Unsafe.Add(ref v0, i), ref centered ? ref Unsafe.Add(ref a0, i) : ref Unsafe.NullRef<T>(),
                ref useMomentum ? ref Unsafe.Add(ref s0, i) : ref Unsafe.NullRef<T>(), ref Unsafe.Add(ref w0, i));
    }

    /// <summary>The scalar reference for <see cref="Apply{T}"/>.</summary>
    /// <exception cref="ArgumentException">A needed span's length differs from the gradient's.</exception>
    public static void ApplyReference<T>(ReadOnlySpan<T> gradient, T learningRate, T rho, T momentum, T epsilon, bool centered,
        Span<T> velocity, Span<T> averageGradient, Span<T> momentumBuffer, Span<T> weights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = gradient.Length;
        bool useMomentum = momentum != T.Zero;
        Check(n, centered, useMomentum, velocity, averageGradient, momentumBuffer, weights);
        for (int i = 0; i < n; i++)
            Scalar(gradient[i], learningRate, rho, T.One - rho, momentum, epsilon, centered, useMomentum, ref velocity[i],
                ref centered ? ref averageGradient[i] : ref Unsafe.NullRef<T>(),
                ref useMomentum ? ref momentumBuffer[i] : ref Unsafe.NullRef<T>(), ref weights[i]);
    }

    private static void Check<T>(int n, bool centered, bool useMomentum, Span<T> velocity, Span<T> averageGradient, Span<T> momentumBuffer, Span<T> weights)
    {
        OptimizerChecks.Same(n, velocity.Length, nameof(velocity));
        if (centered) OptimizerChecks.Same(n, averageGradient.Length, nameof(averageGradient));
        if (useMomentum) OptimizerChecks.Same(n, momentumBuffer.Length, nameof(momentumBuffer));
        OptimizerChecks.Same(n, weights.Length, nameof(weights));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scalar<T>(T g, T lr, T rho, T c, T mu, T eps, bool centered, bool useMomentum,
        ref T v, ref T a, ref T s, ref T w) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T nv = rho * v + c * (g * g);
        v = nv;
        T d;
        if (centered)
        {
            T na = rho * a + c * g;
            a = na;
            d = nv - na * na + eps;
        }
        else d = nv + eps;
        T u = lr * g / T.Sqrt(d);
        if (useMomentum)
        {
            u = mu * s + u;
            s = u;
        }
        w -= u;
    }
}
