using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>
/// The fused Adam / AdamW step for one parameter (Kingma &amp; Ba, 2015, "Adam: A Method for Stochastic
/// Optimization"; Loshchilov &amp; Hutter, 2019, "Decoupled Weight Decay Regularization"), in Keras' form:
/// <code>
/// w  = w − w·decay                 (AdamW's decoupled decay; decay = lr·weight_decay, 0 for Adam)
/// m += (g − m)·(1 − β1)
/// v += (g² − v)·(1 − β2)
/// w −= (m·α) / (√v + ε)            α = lr·√(1 − β2^t) / (1 − β1^t)
/// </code>
/// </summary>
/// <remarks>
/// One pass over the four arrays instead of the six a composition of element-wise calls would make. The
/// vector loops use the same operations in the same order as the scalar tail (no fused multiply-add), so
/// every element gets the bitwise result of <see cref="ApplyReference{T}"/> whatever the width.
/// </remarks>
public static class AdamUpdate
{
    /// <summary>Applies one Adam step in place to <paramref name="m"/>, <paramref name="v"/> and <paramref name="weights"/>.</summary>
    /// <param name="gradient">g, the gradient.</param>
    /// <param name="alpha">α, the bias-corrected step size.</param>
    /// <param name="beta1">β1, the first-moment decay.</param>
    /// <param name="beta2">β2, the second-moment decay.</param>
    /// <param name="epsilon">ε ("epsilon hat", not bias-corrected).</param>
    /// <param name="decay">The decoupled weight-decay factor <c>lr·weight_decay</c>; 0 for plain Adam.</param>
    /// <param name="m">The first moment, updated in place.</param>
    /// <param name="v">The second moment, updated in place.</param>
    /// <param name="weights">The weights, updated in place.</param>
    /// <exception cref="ArgumentException">A span's length differs from the gradient's.</exception>
    public static void Apply<T>(ReadOnlySpan<T> gradient, T alpha, T beta1, T beta2, T epsilon, T decay,
        Span<T> m, Span<T> v, Span<T> weights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = gradient.Length;
        OptimizerChecks.Same(n, m.Length, nameof(m));
        OptimizerChecks.Same(n, v.Length, nameof(v));
        OptimizerChecks.Same(n, weights.Length, nameof(weights));
        T c1 = T.One - beta1, c2 = T.One - beta2;
        ref T g0 = ref MemoryMarshal.GetReference(gradient);
        ref T m0 = ref MemoryMarshal.GetReference(m);
        ref T v0 = ref MemoryMarshal.GetReference(v);
        ref T w0 = ref MemoryMarshal.GetReference(weights);
        int i = 0;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            var vc1 = Vector512.Create(c1); var vc2 = Vector512.Create(c2);
            var va = Vector512.Create(alpha); var ve = Vector512.Create(epsilon); var vd = Vector512.Create(decay);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                nuint k = (nuint)i;
                var g = Vector512.LoadUnsafe(ref g0, k);
                var mm = Vector512.LoadUnsafe(ref m0, k);
                var vv = Vector512.LoadUnsafe(ref v0, k);
                var w = Vector512.LoadUnsafe(ref w0, k);
                w -= w * vd;
                mm += (g - mm) * vc1;
                vv += (g * g - vv) * vc2;
                w -= mm * va / (Vector512.Sqrt(vv) + ve);
                mm.StoreUnsafe(ref m0, k);
                vv.StoreUnsafe(ref v0, k);
                w.StoreUnsafe(ref w0, k);
            }
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var vc1 = Vector256.Create(c1); var vc2 = Vector256.Create(c2);
            var va = Vector256.Create(alpha); var ve = Vector256.Create(epsilon); var vd = Vector256.Create(decay);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                nuint k = (nuint)i;
                var g = Vector256.LoadUnsafe(ref g0, k);
                var mm = Vector256.LoadUnsafe(ref m0, k);
                var vv = Vector256.LoadUnsafe(ref v0, k);
                var w = Vector256.LoadUnsafe(ref w0, k);
                w -= w * vd;
                mm += (g - mm) * vc1;
                vv += (g * g - vv) * vc2;
                w -= mm * va / (Vector256.Sqrt(vv) + ve);
                mm.StoreUnsafe(ref m0, k);
                vv.StoreUnsafe(ref v0, k);
                w.StoreUnsafe(ref w0, k);
            }
        }
        for (; i < n; i++) Scalar(Unsafe.Add(ref g0, i), alpha, c1, c2, epsilon, decay, ref Unsafe.Add(ref m0, i), ref Unsafe.Add(ref v0, i), ref Unsafe.Add(ref w0, i));
    }

    /// <summary>The scalar reference for <see cref="Apply{T}"/>: the same formula, one element at a time.</summary>
    /// <exception cref="ArgumentException">A span's length differs from the gradient's.</exception>
    public static void ApplyReference<T>(ReadOnlySpan<T> gradient, T alpha, T beta1, T beta2, T epsilon, T decay,
        Span<T> m, Span<T> v, Span<T> weights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = gradient.Length;
        OptimizerChecks.Same(n, m.Length, nameof(m));
        OptimizerChecks.Same(n, v.Length, nameof(v));
        OptimizerChecks.Same(n, weights.Length, nameof(weights));
        for (int i = 0; i < n; i++) Scalar(gradient[i], alpha, T.One - beta1, T.One - beta2, epsilon, decay, ref m[i], ref v[i], ref weights[i]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scalar<T>(T g, T alpha, T c1, T c2, T epsilon, T decay, ref T m, ref T v, ref T w)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T ww = w;
        ww -= ww * decay;
        m += (g - m) * c1;
        v += (g * g - v) * c2;
        w = ww - m * alpha / (T.Sqrt(v) + epsilon);
    }
}

/// <summary>Length checks shared by the optimizer kernels.</summary>
internal static class OptimizerChecks
{
    internal static void Same(int expected, int actual, string paramName)
    {
        if (actual != expected)
            throw new ArgumentException($"{paramName} has length {actual} but the gradient has length {expected}.", paramName);
    }
}
