using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;

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
/// One pass over the four arrays instead of the six a composition of element-wise calls would make. The step
/// is written once over <see cref="ISimd{TVector, T}"/>: every width and the scalar tail run the same operations
/// in the same order (no fused multiply-add), so every element gets the bitwise result of
/// <c>ApplyReference</c> whatever the width.
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
        Span<T> m, Span<T> v, Span<T> weights) where T : unmanaged, IFloatingPointIeee754<T> =>
        Apply(gradient, alpha, beta1, beta2, epsilon, decay, m, v, default, weights);

    /// <summary>Applies one Adam step in place; with a non-empty <paramref name="vHat"/> the AMSGrad variant (Reddi et
    /// al., 2018): <c>v̂ = max(v̂, v)</c> replaces v in the denominator, so the step size never grows.</summary>
    /// <param name="gradient">g.</param>
    /// <param name="alpha">α, the bias-corrected step size.</param>
    /// <param name="beta1">β₁.</param>
    /// <param name="beta2">β₂.</param>
    /// <param name="epsilon">ε-hat.</param>
    /// <param name="decay">lr·λ of decoupled weight decay (AdamW), or 0.</param>
    /// <param name="m">The first moment, updated in place.</param>
    /// <param name="v">The second moment, updated in place.</param>
    /// <param name="vHat">AMSGrad's running maximum of v, updated in place; empty for plain Adam.</param>
    /// <param name="weights">The weights, updated in place.</param>
    /// <exception cref="ArgumentException">A span's length differs from the gradient's.</exception>
    public static void Apply<T>(ReadOnlySpan<T> gradient, T alpha, T beta1, T beta2, T epsilon, T decay,
        Span<T> m, Span<T> v, Span<T> vHat, Span<T> weights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = gradient.Length;
        OptimizerChecks.Same(n, m.Length, nameof(m));
        OptimizerChecks.Same(n, v.Length, nameof(v));
        if (!vHat.IsEmpty) OptimizerChecks.Same(n, vHat.Length, nameof(vHat));
        OptimizerChecks.Same(n, weights.Length, nameof(weights));
        bool ams = !vHat.IsEmpty;
        ref T h0 = ref MemoryMarshal.GetReference(vHat);
        T c1 = T.One - beta1, c2 = T.One - beta2;
        ref T g0 = ref MemoryMarshal.GetReference(gradient);
        ref T m0 = ref MemoryMarshal.GetReference(m);
        ref T v0 = ref MemoryMarshal.GetReference(v);
        ref T w0 = ref MemoryMarshal.GetReference(weights);
        int i = 0;
        if (Simd512<T>.IsSupported) i = Loop<Simd512<T>, Vector512<T>, T>(ref g0, ref m0, ref v0, ref h0, ref w0, n, i, alpha, c1, c2, epsilon, decay, ams);
        else if (Simd256<T>.IsSupported) i = Loop<Simd256<T>, Vector256<T>, T>(ref g0, ref m0, ref v0, ref h0, ref w0, n, i, alpha, c1, c2, epsilon, decay, ams);
        Loop<SimdScalar<T>, T, T>(ref g0, ref m0, ref v0, ref h0, ref w0, n, i, alpha, c1, c2, epsilon, decay, ams);
    }

    /// <summary>The step for elements <c>[i, n)</c> in whole vectors of <typeparamref name="TS"/>; returns where it stopped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Loop<TS, TV, T>(ref T g0, ref T m0, ref T v0, ref T h0, ref T w0, int n, int i, T alpha, T c1, T c2, T epsilon, T decay, bool ams)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        TV vc1 = TS.Broadcast(c1), vc2 = TS.Broadcast(c2), va = TS.Broadcast(alpha), ve = TS.Broadcast(epsilon), vd = TS.Broadcast(decay);
        for (; i <= n - TS.Count; i += TS.Count)
        {
            nuint k = (nuint)i;
            TV g = TS.Load(ref g0, k), mm = TS.Load(ref m0, k), vv = TS.Load(ref v0, k);
            mm = TS.Add(mm, TS.Multiply(TS.Subtract(g, mm), vc1));
            vv = TS.Add(vv, TS.Multiply(TS.Subtract(TS.Multiply(g, g), vv), vc2));
            // The moments are stored before the slow sqrt and divide (measured ~15 % faster than storing last).
            TS.Store(mm, ref m0, k);
            TS.Store(vv, ref v0, k);
            if (ams)
            {
                vv = TS.MaxOrSecond(TS.Load(ref h0, k), vv);
                TS.Store(vv, ref h0, k);
            }
            TV w = TS.Load(ref w0, k);
            w = TS.Subtract(w, TS.Multiply(w, vd));
            TS.Store(TS.Subtract(w, TS.Divide(TS.Multiply(mm, va), TS.Add(TS.Sqrt(vv), ve))), ref w0, k);
        }
        return i;
    }

    /// <summary>The scalar reference for <c>Apply</c>: the same formula, one element at a time.</summary>
    /// <exception cref="ArgumentException">A span's length differs from the gradient's.</exception>
    public static void ApplyReference<T>(ReadOnlySpan<T> gradient, T alpha, T beta1, T beta2, T epsilon, T decay,
        Span<T> m, Span<T> v, Span<T> weights) where T : unmanaged, IFloatingPointIeee754<T> =>
        ApplyReference(gradient, alpha, beta1, beta2, epsilon, decay, m, v, default, weights);

    /// <summary>The scalar reference for the AMSGrad overload of <see cref="Apply{T}(ReadOnlySpan{T}, T, T, T, T, T, Span{T}, Span{T}, Span{T}, Span{T})"/>.</summary>
    /// <exception cref="ArgumentException">A span's length differs from the gradient's.</exception>
    public static void ApplyReference<T>(ReadOnlySpan<T> gradient, T alpha, T beta1, T beta2, T epsilon, T decay,
        Span<T> m, Span<T> v, Span<T> vHat, Span<T> weights) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = gradient.Length;
        OptimizerChecks.Same(n, m.Length, nameof(m));
        OptimizerChecks.Same(n, v.Length, nameof(v));
        if (!vHat.IsEmpty) OptimizerChecks.Same(n, vHat.Length, nameof(vHat));
        OptimizerChecks.Same(n, weights.Length, nameof(weights));
        Loop<SimdScalar<T>, T, T>(ref MemoryMarshal.GetReference(gradient), ref MemoryMarshal.GetReference(m),
            ref MemoryMarshal.GetReference(v), ref MemoryMarshal.GetReference(vHat), ref MemoryMarshal.GetReference(weights), n, 0,
            alpha, T.One - beta1, T.One - beta2, epsilon, decay, !vHat.IsEmpty);
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
